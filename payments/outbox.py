"""The payments' outbox handlers (ticketing.outbox): each runs one message,
outside any transaction, at least once; each is idempotent.

Registered by PaymentsConfig.ready, so every process that sweeps knows them.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from payments.cancellation import event_cancellation_process
from payments.mail import cancellation_mail_send, order_confirmation_send, refund_mail_send
from payments.messages import (
    CANCELLATION_MAIL,
    CONFIRMATION_MAIL,
    EVENT_CANCEL,
    PARTIAL_REFUND,
    REFUND,
    REFUND_MAIL,
)
from payments.services import payment_refund_issue, refund_partial_issue
from ticketing.outbox import outbox_handler, outbox_put


@outbox_handler(REFUND)
def refund_issue(payload: dict[str, Any]) -> None:
    """Ask the provider for the money back. Idempotent: payment_refund_issue
    acts only on a payment still `refund_pending`."""
    payment_refund_issue(payment_id=payload["payment_id"])


@outbox_handler(PARTIAL_REFUND)
def partial_refund_issue(payload: dict[str, Any]) -> None:
    """Ask the provider for one partial refund. Idempotent: the provider gives
    back a reference once, and a refund no longer `requested` is not asked."""
    refund_partial_issue(refund_id=payload["refund_id"])


@outbox_handler(REFUND_MAIL)
def refund_mail(payload: dict[str, Any]) -> None:
    """The buyer's refund e-mail (one message per refund, like the ticket mail)."""
    refund_mail_send(refund_id=payload["refund_id"])


@outbox_handler(CONFIRMATION_MAIL)
def confirmation_mail(payload: dict[str, Any]) -> None:
    """The ticket mail. One message per paid order and one runner at a time
    (the claim), the message marked done once sent: one mail in the normal
    path; a worker dying between the send and the mark may send it twice."""
    order_confirmation_send(order_id=payload["order_id"])


@outbox_handler(EVENT_CANCEL)
def event_cancellation(payload: dict[str, Any]) -> None:
    """One pass of a cancelled event's refunds (payments.cancellation); a big
    event is done in batches, each recording the next as its own message."""
    more = event_cancellation_process(
        event_id=payload["event_id"], reason=payload["reason"], user_id=payload.get("user_id")
    )
    if more:
        with transaction.atomic():
            outbox_put(kind=EVENT_CANCEL, payload=payload)


@outbox_handler(CANCELLATION_MAIL)
def cancellation_mail(payload: dict[str, Any]) -> None:
    """The buyer's "event cancelled" e-mail (one message per order)."""
    cancellation_mail_send(
        order_id=payload["order_id"], reason=payload["reason"], refund_id=payload["refund_id"]
    )
