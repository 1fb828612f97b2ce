"""The payments' outbox handlers (ticketing.outbox): each runs one message,
outside any transaction, at least once; each is idempotent.

Registered by OrdersConfig.ready, so every process that sweeps knows them.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from typing import Any

from django.conf import settings

from payments.mail import order_confirmation_send, refund_mail_send
from payments.messages import (
    CONFIRMATION_MAIL,
    PARTIAL_REFUND,
    REFUND,
    REFUND_MAIL,
    SANDBOX_CALLBACK,
)
from payments.sandbox import CALLBACK_PATH, SIGNATURE_HEADER, sign
from payments.services import payment_refund_issue, refund_partial_issue
from ticketing.outbox import outbox_handler

logger = logging.getLogger(__name__)

# Bounded, yet above a busy site's p99 (~10 s in the on-sale bench); below
# the outbox lease (OUTBOX_LEASE_SECONDS), so a slow merchant is never
# called twice at once for one message.
CALLBACK_TIMEOUT_SECONDS = 15


class CallbackNotAccepted(Exception):
    """The merchant answered non-2xx: the outbox retries with back-off."""


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


@outbox_handler(SANDBOX_CALLBACK)
def sandbox_callback_deliver(payload: dict[str, Any]) -> int:
    """POST the sandbox gateway's signed callback to the merchant (this site).

    A non-2xx answer or a network error raises: the outbox retries. The
    merchant deduplicates by event_id, so a retry after a lost 2xx is harmless.
    """
    raw = json.dumps(payload["body"], separators=(",", ":")).encode()
    request = urllib.request.Request(  # noqa: S310 (our own SITE_URL, http/https)
        settings.SITE_URL + CALLBACK_PATH,
        data=raw,
        method="POST",
        headers={"Content-Type": "application/json", SIGNATURE_HEADER: sign(raw)},
    )
    try:
        with urllib.request.urlopen(request, timeout=CALLBACK_TIMEOUT_SECONDS) as response:  # noqa: S310
            return response.status
    except urllib.error.HTTPError as exc:
        logger.warning("sandbox callback answered %s", exc.code)
        raise CallbackNotAccepted(str(exc.code)) from exc
