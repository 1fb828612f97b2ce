"""Calling an event off: `event_cancel` and the work it leaves to the outbox.

Generic on purpose: a concert, a match or one cinema showing is an Event,
and every caller (staff in the admin, the cinema catalogue) cancels through
`event_cancel`. The decision is one short transaction: the event turns
`cancelled` (hold_create refuses it, payment_start refuses its orders, a late
payment is refunded instead of sold: payments.services), partners hear
`event.cancelled` (events.hooks, in that transaction), and two outbox
messages record the rest. Their handler (`event_cancellation_process`)
refunds every paid order through `order_refund` (the provider's refund path,
itself outbox messages), cancels the unpaid ones, releases the holds and
e-mails each buyer, each order in its own transaction. So a worker killed
half-way leaves the message due again, and the next run picks up what is
left: an order refunded already is no longer paid and is skipped, so running
it twice (or `event_cancel` twice) refunds and mails nobody twice.

The second message runs a minute later: a hold taken in another web process
from its 5 s old sale snapshot, or a payment settling in a transaction that
began before the cancellation committed, is caught by that pass.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction

from events.hooks import EVENT_CANCELLED, event_record
from events.models import Event
from orders.exceptions import HoldNotActive, OrderNotCancellable
from orders.models import Hold, Order
from orders.services.holds import hold_release
from orders.services.orders import order_cancel
from payments.exceptions import CancelInvalid, OrderNotRefundable, RefundInvalid
from payments.messages import CANCELLATION_MAIL, EVENT_CANCEL
from payments.selectors import CancelPreview, event_cancel_preview
from payments.services import order_refund
from queueing.models import WaitingRoom
from queueing.services import room_action
from ticketing.audit import AuditAction, audit_log
from ticketing.models import AuditEntry
from ticketing.outbox import outbox_put

logger = logging.getLogger(__name__)

ACTOR = "system:event_cancel"
# Who may cancel: change events and refund orders (admin and the sale console's link).
CANCEL_PERMISSIONS = ("events.change_event", "payments.add_refund")
SECOND_PASS_SECONDS = 60
BATCH = 200  # orders or holds per handler run; a continuation message does the rest


@dataclass(frozen=True)
class CancelResult:
    event: Event
    preview: CancelPreview  # what was there to refund and cancel when it was decided
    already: bool  # the event was cancelled before: nothing new was decided


def _actor(by: Any) -> dict[str, Any]:
    if getattr(by, "is_authenticated", False):
        return {"actor_user": by}
    return {"actor": str(by) if by else ACTOR}


def event_cancel(*, event: Event, reason: str, by: Any = None) -> CancelResult:
    """Cancel `event`: no more sales (its waiting room paused), every paid
    order refunded, unpaid orders cancelled, holds released, each buyer
    e-mailed in their order's language, partners told (`event.cancelled`,
    then `order.refunded` per order).

    `reason` (required, CancelInvalid otherwise) goes into the buyers' e-mail,
    the refunds and the audit; `by` is the staff user or a system actor name
    (`"cinema:sync"`). Returns at once: the refunds run in the outbox
    (module doc). Idempotent: an event already cancelled changes nothing but
    records one more processing pass (a re-drive), and `already` is True.
    Locks the event row, as event_status_set does.
    """
    reason = (reason or "").strip()
    if not reason:
        raise CancelInvalid(details={"reason": ["required"]})
    user = by if getattr(by, "is_authenticated", False) else None
    payload = {"event_id": event.pk, "reason": reason, "user_id": getattr(user, "pk", None)}
    with transaction.atomic():
        locked = Event.objects.select_for_update().get(pk=event.pk)
        preview = event_cancel_preview(event=locked)
        already = locked.status == Event.Status.CANCELLED
        if already:
            # A re-drive tells the buyers still to be told the first reason.
            payload["reason"] = _first_reason(locked) or reason
        else:
            old = locked.status
            locked.status = Event.Status.CANCELLED
            locked.save(update_fields=["status"])
            audit_log(
                action=AuditAction.EVENT_CANCELLED,
                obj=locked,
                **_actor(by),
                data={
                    "old": old,
                    "reason": reason,
                    "paid_orders": preview.paid_orders,
                    "refund_amount": str(preview.refund_amount),
                    "pending_orders": preview.pending_orders,
                    "active_holds": preview.active_holds,
                },
            )
            room = WaitingRoom.objects.filter(event=locked).first()
            if room is not None and not room.paused:
                # Nobody waits for a turn that leads nowhere (holds are refused anyway).
                room_action(room=room, action="pause", actor=user)
            event_record(kind=EVENT_CANCELLED, event=locked, details={"reason": reason})
            outbox_put(kind=EVENT_CANCEL, payload=payload, delay_seconds=SECOND_PASS_SECONDS)
        outbox_put(kind=EVENT_CANCEL, payload=payload)
    return CancelResult(event=locked, preview=preview, already=already)


def _first_reason(event: Event) -> str | None:
    return (
        AuditEntry.objects.filter(
            action=AuditAction.EVENT_CANCELLED,
            object_type=Event._meta.label_lower,
            object_id=str(event.pk),
        )
        .order_by("created_at")
        .values_list("data__reason", flat=True)
        .first()
    )


def _refund_one(order_id: int, reason: str, user: Any) -> bool:
    """Refund one paid order whole, with the cancellation's e-mail in the same
    transaction; False if another run (or staff) got there first."""
    try:
        with transaction.atomic():
            order = Order.objects.get(pk=order_id)
            refund = order_refund(order=order, actor_user=user, reason=reason, notify=False)
            outbox_put(
                kind=CANCELLATION_MAIL,
                payload={
                    "order_id": order_id,
                    "refund_id": refund.pk if refund else None,
                    "reason": reason,
                },
            )
    except (OrderNotRefundable, RefundInvalid):
        return False
    return True


def _cancel_one(order_id: int, reason: str, user: Any) -> bool:
    """Cancel one unpaid order (its stock back) with the buyer's e-mail."""
    try:
        with transaction.atomic():
            order_cancel(order=Order.objects.get(pk=order_id), actor=ACTOR, actor_user=user)
            outbox_put(
                kind=CANCELLATION_MAIL,
                payload={"order_id": order_id, "refund_id": None, "reason": reason},
            )
    except OrderNotCancellable:
        return False
    return True


def event_cancellation_process(*, event_id: int, reason: str, user_id: int | None = None) -> bool:
    """One pass of a cancelled event's clean-up (the outbox handler): up to
    BATCH paid orders refunded, unpaid orders cancelled, active holds released.
    Returns True when there may be more (the handler records a continuation).

    Each order is its own transaction under the order lock (order_refund,
    order_cancel), so a racing run, a staff refund or a payment callback
    queue behind it and whoever comes second finds nothing to do.
    """
    if not Event.objects.filter(pk=event_id, status=Event.Status.CANCELLED).exists():
        return False  # nothing was decided (a message of a rolled-back test, say)
    user = get_user_model().objects.filter(pk=user_id).first() if user_id else None
    orders = Order.objects.filter(event_id=event_id).order_by("pk").values_list("pk", flat=True)
    paid = list(orders.filter(status=Order.Status.PAID)[:BATCH])
    refunded = sum(_refund_one(order_id, reason, user) for order_id in paid)
    pending = list(orders.filter(status=Order.Status.PENDING_PAYMENT)[:BATCH])
    cancelled = sum(_cancel_one(order_id, reason, user) for order_id in pending)
    holds = list(Hold.objects.filter(event_id=event_id, status=Hold.Status.ACTIVE)[:BATCH])
    released = 0
    for hold in holds:
        try:
            hold_release(hold=hold, actor=ACTOR, actor_user=user)
        except HoldNotActive:
            continue
        released += 1
    logger.info(
        "event %s cancellation pass: %s refunded, %s cancelled, %s holds released",
        event_id,
        refunded,
        cancelled,
        released,
    )
    return BATCH in (len(paid), len(pending), len(holds))
