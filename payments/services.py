"""Payment services: start a payment, apply a provider's callback, refund.

Lock order, the same in every service that touches an order (order_cancel
and the hold sweeper included): the Hold row, then the Order row, then the
Payment row, then (only to revive an expired order) the buyer's limit lock
of orders.services.holds, then stock (conditional UPDATEs). One order everywhere, so a
cancel, an expiry, a payment start and a callback for the same order queue
behind each other instead of deadlocking.
"""

from __future__ import annotations

import json
import logging
import secrets
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, connection, transaction
from django.db.models import Subquery
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from api.models import Partner
from events.cards import card_rule_refusal
from events.models import Event
from orders import holdkinds
from orders.exceptions import OrderNotFound
from orders.hooks import order_record
from orders.models import Hold, Order, Ticket
from orders.services.holds import buyer_limit_lock_and_count, hold_stock_return
from orders.services.orders import order_lock
from orders.signals import order_announce, order_paid, order_refunded
from orders.tickets import tickets_issue
from orders.waits import order_settled_notify
from payments.exceptions import (
    BadConfirmation,
    BuyerRefundClosed,
    BuyerRefundNotAllowed,
    ConfirmationMismatch,
    OrderExpired,
    OrderNotPayable,
    OrderNotRefundable,
    PaymentNotFound,
    ProviderUnavailable,
    RefundInvalid,
)
from payments.messages import CONFIRMATION_MAIL, PARTIAL_REFUND, REFUND, REFUND_MAIL
from payments.models import Payment, PaymentCallback, Refund
from payments.providers import CallbackEvent, provider_get
from payments.signatures import event_id_of
from ticketing import metrics
from ticketing.audit import AuditAction, audit_entry, audit_log, audit_log_many
from ticketing.models import AuditEntry, OutboxMessage
from ticketing.money import money_format
from ticketing.outbox import outbox_put
from ticketing.signing import stamped_valid

logger = logging.getLogger(__name__)


def _extend_hold_once(order: Order) -> AuditEntry | None:
    """Give the buyer time to type a card: once per hold, capped from its creation.

    One conditional UPDATE (`extended = false`) so two parallel payment starts
    extend once. Only seats this hold still owns move. Caller holds the order
    lock, and writes the returned audit entry (None: nothing was extended)
    with its own.
    """
    hold = order.hold
    now = timezone.now()
    new_expiry = min(
        now + timedelta(minutes=settings.HOLD_PAYMENT_EXTENSION_MINUTES),
        hold.created_at + timedelta(minutes=settings.HOLD_MAX_MINUTES),
    )
    if new_expiry <= hold.expires_at:
        return None
    updated = Hold.objects.filter(pk=hold.pk, extended=False).update(
        extended=True, expires_at=new_expiry
    )
    if not updated:
        return None
    holdkinds.kind_of(hold).extend(hold, new_expiry)
    order.expires_at = new_expiry
    order.save(update_fields=["expires_at"])
    hold.extended, hold.expires_at = True, new_expiry
    return audit_entry(
        action=AuditAction.HOLD_EXTENDED_FOR_PAYMENT,
        obj=hold,
        actor="system:payments",
        data={"expires_at": new_expiry.isoformat(), "order": order.code},
    )


def payment_start(
    *,
    order: Order,
    provider: str = "sandbox",
    return_url: str | None = None,
    actor_user: Any = None,
) -> tuple[Payment, str]:
    """Create a Payment for an unpaid, unexpired order and return the redirect URL.

    Locks the hold, then the order; extends the hold once (see `_extend_hold_once`). The
    provider is asked for the redirect after the commit (no outside I/O inside
    the transaction). A failed earlier payment does not prevent a new one.
    """
    gateway = provider_get(provider)
    with transaction.atomic():
        order = order_lock(order=order)
        if order.status != Order.Status.PENDING_PAYMENT:
            raise OrderNotPayable()
        if order.expires_at <= timezone.now():
            raise OrderExpired()
        if _event_cancelled(order):
            raise OrderNotPayable()
        gateway.order_check(order)
        payment = Payment.objects.create(
            order=order,
            provider=provider,
            provider_ref=gateway.reference_new(),
            amount=order.total,
            currency=order.currency,
            return_url=return_url or f"/orders/{order.code}/return/?t={order.access_token}",
            reconcile_after=timezone.now()
            + timedelta(seconds=settings.PAYMENT_RECONCILE_GRACE_SECONDS),
        )
        extended = _extend_hold_once(order)
        started = audit_entry(
            action=AuditAction.PAYMENT_STARTED,
            obj=order,
            actor_user=actor_user,
            data={"payment": str(payment.pk), "provider": provider, "amount": str(payment.amount)},
        )
        # The extension's and the start's audit rows in one INSERT.
        audit_log_many([extended, started] if extended else [started])
    made_up = payment.provider_ref
    redirect_url = gateway.create_payment(payment, payment.return_url)
    if payment.provider_ref != made_up:  # the provider gave its own (reference_new)
        Payment.objects.filter(pk=payment.pk).update(provider_ref=payment.provider_ref)
    return payment, redirect_url


def _refund_request(payment: Payment) -> None:
    """Record the refund to ask for, in the caller's transaction (the outbox):
    it commits with the `refund_pending` that decides it, and survives Redis."""
    outbox_put(kind=REFUND, payload={"payment_id": str(payment.pk)})


def _paid_side_effects(order: Order) -> None:
    """The ticket mail as an outbox message (it must not be lost); order_paid
    after commit for the rest (the queue pass ends: a Redis write, re-derived
    from Postgres if lost, not money)."""
    outbox_put(kind=CONFIRMATION_MAIL, payload={"order_id": order.pk})
    order_record(state="paid", orders=[(order.pk, order.partner_id)])
    order_announce(signal=order_paid, order=order)


def _apply_success(order: Order, payment: Payment, event: CallbackEvent) -> str:
    payment.status = Payment.Status.SUCCEEDED
    payment.card_brand = event.card.get("brand", "")[:20]
    payment.card_bin = event.card.get("bin", "")[:6]
    payment.card_last4 = event.card.get("last4", "")[-4:]
    payment.failure_reason = ""
    fields = ["status", "card_brand", "card_bin", "card_last4", "failure_reason", "updated_at"]
    payment.updated_at = timezone.now()
    payment.save(update_fields=fields)
    # Written with the order's own audit row in one INSERT when the order is
    # paid (the usual case), first thing on every other way out.
    succeeded = audit_entry(
        action=AuditAction.PAYMENT_SUCCEEDED,
        obj=payment,
        actor="gateway:" + payment.provider,
        data={"order": order.code, "event_id": event.event_id},
    )

    # The sale phase's card rule, checked on the card the provider reports (the
    # sandbox form refuses such cards before charging; another provider may
    # not know the rule). The order is left as it is: the buyer may pay again
    # with an allowed card while the hold lasts.
    if card_rule_refusal(
        brand=payment.card_brand.lower(),
        bin6=payment.card_bin,
        brands=order.phase.card_brands,
        bins=order.phase.card_bin_prefixes,
    ):
        audit_log_many([succeeded])
        return _refund_payment_only(payment, order, reason="card_rule")

    # An expired order whose stock is still ours is revived; a cancelled one or
    # one already paid by another payment is not.
    hold = order.hold  # locked first by payment_callback_handle
    sellable = order.status in (Order.Status.PENDING_PAYMENT, Order.Status.EXPIRED)
    reason = "stock_lost"
    if sellable and _event_cancelled(order):
        # Money that comes after the event was called off (payments.cancellation
        # cancelled the order, or it had expired): never sold, given back.
        sellable, reason = False, "event_cancelled"
    if sellable and _revival_exceeds_limit(order):
        sellable, reason = False, "limit_exceeded"
    if sellable:
        try:
            with transaction.atomic():  # savepoint: partial stock moves roll back
                places = holdkinds.kind_of(hold).sell_places(order, hold)
                if places is None:
                    raise _StockLost()
                tickets = tickets_issue(order=order, hold=hold, places=places)
        except (_StockLost, IntegrityError):
            sellable = False
        else:
            order.status = Order.Status.PAID
            order.paid_at = timezone.now()
            order.save(update_fields=["status", "paid_at"])
            if hold.status != Hold.Status.CONVERTED:
                hold.status = Hold.Status.CONVERTED
                hold.save(update_fields=["status"])
            paid = audit_entry(
                action=AuditAction.ORDER_PAID,
                obj=order,
                actor="gateway:" + payment.provider,
                data={"payment": str(payment.pk), "tickets": len(tickets)},
            )
            audit_log_many([succeeded, paid])
            _paid_side_effects(order)
            return "paid"

    # Money taken but nothing to sell: refund automatically, never sell twice.
    audit_log_many([succeeded])
    payment.status = Payment.Status.REFUND_PENDING
    payment.save(update_fields=["status"])
    if order.status != Order.Status.PAID:
        hold_stock_return(hold=hold)
        hold.status = Hold.Status.RELEASED
        hold.save(update_fields=["status"])
        order.status = Order.Status.REFUNDED
        order.save(update_fields=["status"])
        order_record(state="refunded", orders=[(order.pk, order.partner_id)])
        order_announce(signal=order_refunded, order=order)
        audit_log(
            action=AuditAction.ORDER_REFUNDED,
            obj=order,
            actor="system:payments",
            data={"payment": str(payment.pk), "reason": reason},
        )
    audit_log(
        action=AuditAction.PAYMENT_REFUND_REQUESTED,
        obj=payment,
        actor="system:payments",
        data={"order": order.code, "reason": "not_sellable" if reason == "stock_lost" else reason},
    )
    _refund_request(payment)
    return "refunding"


def _event_cancelled(order: Order) -> bool:
    """Is the order's event cancelled? As read with the order's lock (not the
    5 s sale snapshot): once event_cancel has committed, no payment started
    or settled after it sells a ticket for the event (one settling across the
    commit is caught by the cancellation's second pass)."""
    return order.event.status == Event.Status.CANCELLED


def _revival_exceeds_limit(order: Order) -> bool:
    """Would selling this order now break the phase's per-buyer limit?

    An order awaiting payment counts against the limit only until it expires
    (holds._LIMIT_SQL); meanwhile the buyer may have held and paid up to the
    limit again. So a late payment of an expired order re-counts under the
    buyer's lock, the one hold_create takes, before it revives the order (one
    buyer had 12 paid tickets against a cap of 6). A live order still counts,
    so it needs no re-check. Caller holds the Hold and Order locks.
    """
    live = order.status == Order.Status.PENDING_PAYMENT and order.expires_at > timezone.now()
    if live:
        return False
    taken = buyer_limit_lock_and_count(event_id=order.event_id, buyer_key=order.buyer_key)
    return taken + order.quantity > order.phase.per_buyer_limit


def _refund_payment_only(payment: Payment, order: Order, *, reason: str) -> str:
    """Money the provider took that pays for nothing: give it back, leave the order.

    For a payment that must not sell (wrong amount, a card the phase refuses)
    while the order itself may still be paid properly. Caller holds the
    Payment lock.
    """
    payment.status = Payment.Status.REFUND_PENDING
    payment.failure_reason = reason.replace("_", " ")
    payment.updated_at = timezone.now()
    payment.save(update_fields=["status", "failure_reason", "updated_at"])
    audit_log(
        action=AuditAction.PAYMENT_REFUND_REQUESTED,
        obj=payment,
        actor="system:payments",
        data={"order": order.code, "reason": reason},
    )
    _refund_request(payment)
    return "refunding"


class _StockLost(Exception):
    pass


def _callback_record(*, provider: str, payment: Payment, event: CallbackEvent) -> bool:
    """Insert the (provider, event_id) row; False if it was already there (a duplicate).

    ON CONFLICT DO NOTHING instead of catching IntegrityError in a savepoint:
    the unique constraint still decides, in one round trip instead of three.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {PaymentCallback._meta.db_table} "  # noqa: S608 - our table name
            "(provider, event_id, payment_id, status, payload, received_at) "
            "VALUES (%s, %s, %s, %s, %s::jsonb, %s) "
            "ON CONFLICT (provider, event_id) DO NOTHING RETURNING id",
            [
                provider,
                event.event_id,
                payment.pk,
                event.status,
                json.dumps(event.payload, cls=DjangoJSONEncoder),
                timezone.now(),
            ],
        )
        return cursor.fetchone() is not None


@metrics.counted(metrics.PAYMENTS)
def payment_callback_handle(
    *, provider: str, event: CallbackEvent, reconciled: bool = False
) -> str:
    """Apply one verified provider callback; returns what happened.

    `reconciled`: the event is the provider's answer to a status query
    (payments_reconcile), audited as `payment.reconciled` with the outcome.

    Idempotent: (provider, event_id) is inserted once; a duplicate is a no-op.
    Order-safe: a `failed` after `succeeded` changes nothing; a `succeeded`
    after `failed` wins (the money was taken). Locks Hold, then Order and
    Payment (one statement), then stock. Side effects: the refund and the
    mail are outbox rows in this transaction, the queue pass runs on commit.
    """
    with transaction.atomic():
        # The hold is found through payment and order in the locking query
        # itself (no read before the transaction), then the order is locked.
        payment_order = Payment.objects.filter(pk=event.payment_id, provider=provider)
        order_id = Subquery(payment_order.values("order_id")[:1])
        hold_id = Subquery(Order.objects.filter(pk=order_id).values("hold_id")[:1])
        hold = Hold.objects.select_for_update().filter(pk=hold_id).first()
        # Then the payment and its order in one statement (the phase: card
        # rule, per-buyer limit; the event: cancelled or not; both unlocked).
        # Which of the two rows Postgres locks first does not matter: every
        # path that locks an order or its payments holds this hold's lock
        # first (module docstring), so nobody holds one of them and waits for
        # the other; the payment-only UPDATEs (reconcile claims, provider_ref)
        # are single autocommit statements that wait for nothing.
        payment = (
            Payment.objects.select_for_update(of=("self", "order"))
            .select_related("order__phase", "order__event")
            .filter(pk=event.payment_id, provider=provider)
            .first()
        )
        if hold is None or payment is None:
            raise PaymentNotFound()
        order = payment.order
        order.hold = hold
        if not _callback_record(provider=provider, payment=payment, event=event):
            return "duplicate"
        result = _callback_apply(provider=provider, order=order, payment=payment, event=event)
        if result != "ignored":
            # The buyer's return page waits for this (orders/waits.py); after
            # the commit, so a woken reader finds the order settled.
            order_pk = order.pk
            transaction.on_commit(lambda: order_settled_notify(order_id=order_pk))
        if reconciled:
            audit_log(
                action=AuditAction.PAYMENT_RECONCILED,
                obj=payment,
                actor="system:reconcile",
                data={
                    "order": order.code,
                    "status": event.status,
                    "result": result,
                    "attempts": payment.reconcile_attempts,
                },
            )
        return result


def _callback_apply(*, provider: str, order: Order, payment: Payment, event: CallbackEvent) -> str:
    """payment_callback_handle's decision, once the event is known to be new.
    Caller holds the Hold, Order and Payment locks."""
    if event.status == "refunded" and event.refund_id:
        # One partial refund (Refund.amount, not the payment's): its own path.
        return _partial_refund_done(payment=payment, order=order, event=event)
    if event.amount != payment.amount or event.currency != payment.currency:
        logger.warning("callback amount mismatch for payment %s", payment.pk)
        audit_log(
            action=AuditAction.PAYMENT_CALLBACK_MISMATCH,
            obj=payment,
            actor="gateway:" + provider,
            data={"amount": str(event.amount), "currency": event.currency},
        )
        # Money was taken at the provider (a `failed` may have come first,
        # out of order): it must go back, whatever the amount.
        if event.status == "succeeded" and payment.status in (
            Payment.Status.CREATED,
            Payment.Status.FAILED,
        ):
            _refund_payment_only(payment, order, reason="amount_mismatch")
        return "mismatch"

    if event.status == "succeeded":
        if payment.status not in (Payment.Status.CREATED, Payment.Status.FAILED):
            return "ignored"
        return _apply_success(order, payment, event)
    if event.status == "failed":
        if payment.status != Payment.Status.CREATED:
            return "ignored"
        payment.status = Payment.Status.FAILED
        payment.failure_reason = event.reason or "declined"
        payment.updated_at = timezone.now()
        payment.save(update_fields=["status", "failure_reason", "updated_at"])
        audit_log(
            action=AuditAction.PAYMENT_FAILED,
            obj=payment,
            actor="gateway:" + provider,
            data={"order": order.code, "reason": payment.failure_reason},
        )
        return "failed"
    # refunded
    if payment.status not in (Payment.Status.REFUND_PENDING, Payment.Status.SUCCEEDED):
        return "ignored"
    # SUCCEEDED: the provider returned money we never asked back (a
    # dispute, the acquirer's own dashboard). If this payment paid the
    # order (a succeeded payment of a paid order is the one that sold:
    # every other was turned into a refund), the tickets must not stay valid.
    provider_initiated = payment.status == Payment.Status.SUCCEEDED
    payment.status = Payment.Status.REFUNDED
    payment.updated_at = timezone.now()
    payment.save(update_fields=["status", "updated_at"])
    # Everything left of the payment is back: the whole staff refund, and any
    # partial one the provider had not done yet (it is part of what came back).
    Refund.objects.filter(payment=payment, status=Refund.Status.REQUESTED).update(
        status=Refund.Status.DONE, completed_at=payment.updated_at
    )
    audit_log(
        action=AuditAction.PAYMENT_REFUNDED,
        obj=payment,
        actor="gateway:" + provider,
        data={"order": order.code, "provider_initiated": provider_initiated},
    )
    if provider_initiated and order.status == Order.Status.PAID:
        unsold = _order_unsell(order)
        audit_log(
            action=AuditAction.ORDER_REFUNDED,
            obj=order,
            actor="gateway:" + provider,
            data={"payments": [str(payment.pk)], "reason": "provider_refund", **unsold},
        )
    return "refunded"


def _reconcile_backoff(attempts: int) -> timedelta:
    """How long after its `attempts`-th question a payment is asked again."""
    grace = settings.PAYMENT_RECONCILE_GRACE_SECONDS
    return timedelta(seconds=min(grace * 2 ** max(attempts - 1, 0), 3600))


def _reconcile_claim(payment_id: Any, old_after: Any, attempts: int, now: Any) -> int | None:
    """Take one due payment by conditional UPDATE (healthchecks' sendalerts);
    returns its attempt number, or None if another run has it.

    Only the run whose UPDATE still finds the old `reconcile_after` owns it;
    the new value is at once the back-off and the lease: a run that dies
    after claiming leaves the payment due again later, never lost. The last
    attempt sets reconcile_after null: if its answer settles nothing either,
    the caller records that reconciliation gave up (_reconcile_gave_up)."""
    attempts += 1
    after = None
    if attempts < settings.PAYMENT_RECONCILE_MAX_ATTEMPTS:
        after = now + _reconcile_backoff(attempts)
    claimed = Payment.objects.filter(
        pk=payment_id, status=Payment.Status.CREATED, reconcile_after=old_after
    ).update(reconcile_after=after, reconcile_attempts=attempts)
    return attempts if claimed == 1 else None


def _reconcile_gave_up(payment: Payment, *, attempts: int, answer: str) -> None:
    """The last question went unanswered (or the provider still says `created`):
    nobody asks again, so staff must hear of it (audit and an ERROR line).
    A callback that comes later still settles the payment."""
    with transaction.atomic():
        audit_log(
            action=AuditAction.PAYMENT_RECONCILE_GAVE_UP,
            obj=payment,
            actor="system:reconcile",
            data={"order_id": payment.order_id, "attempts": attempts, "answer": answer},
        )
    logger.error(
        "payment %s: reconciliation gave up after %s attempts (last answer: %s)",
        payment.pk,
        attempts,
        answer,
        extra={"action": "payment.reconcile_gave_up", "payment": str(payment.pk)},
    )


def payments_reconcile(*, now: Any = None, batch: int | None = None) -> int:
    """Ask the provider about payments still `created` past their grace and
    settle each answer through payment_callback_handle; returns how many
    were settled. Then re-drives stuck refunds (payments_refund_redrive).

    For callbacks that never came (lost, dropped after their retries, a card
    whose gateway never calls back). Not one transaction on purpose: each
    claim is its own autocommit UPDATE, the provider is asked with no
    transaction open (no locks held across the network), and settlement is
    the callback's own transaction. Idempotent: the answer is deduplicated
    like a callback, and a payment already settled is no longer `created`.
    Bounded: at most `batch` payments per run. After the last attempt the
    payment is left alone, audited as `payment.reconcile_gave_up`.
    """
    now = now or timezone.now()
    batch = batch or settings.PAYMENT_RECONCILE_BATCH
    due = list(
        Payment.objects.filter(status=Payment.Status.CREATED, reconcile_after__lte=now)
        .order_by("reconcile_after")
        .values_list("pk", "reconcile_after", "reconcile_attempts")[:batch]
    )
    settled = 0
    for payment_id, old_after, attempts in due:
        attempt = _reconcile_claim(payment_id, old_after, attempts, now)
        if attempt is None:
            continue  # another run has it
        last = attempt >= settings.PAYMENT_RECONCILE_MAX_ATTEMPTS
        payment = Payment.objects.get(pk=payment_id)
        try:
            answer = provider_get(payment.provider).status_query(payment)
        except ProviderUnavailable:
            if last:
                _reconcile_gave_up(payment, attempts=attempt, answer="unavailable")
            continue  # the claim already moved it to its back-off
        if answer.status == "created":
            if last:
                _reconcile_gave_up(payment, attempts=attempt, answer="created")
            continue  # not paid (yet): asked again after the back-off
        result = payment_callback_handle(
            provider=payment.provider, event=answer.as_callback_event(), reconciled=True
        )
        if result != "duplicate":
            settled += 1
            logger.info("payment %s reconciled: %s -> %s", payment.pk, answer.status, result)
    payments_refund_redrive(batch=batch)
    return settled


def payments_refund_redrive(*, batch: int | None = None) -> int:
    """Give a refund message to each `refund_pending` payment that has none;
    returns how many got one.

    Every refund is requested through the outbox in the transaction that sets
    `refund_pending`, so the status and its message become visible together:
    a payment without any `payments.refund` message (pending, done or given
    up) can only be one from before the outbox, whose Celery message Redis
    may have lost. No age condition is needed for that reason. One bounded
    INSERT ... SELECT (the partial index payment_refund_pending keeps the
    usual "none stuck" case cheap); the handler is idempotent anyway.
    """
    batch = batch or settings.PAYMENT_RECONCILE_BATCH
    outbox_table = OutboxMessage._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {outbox_table} "  # noqa: S608 - our table names
            "(kind, payload, due_at, attempts, created_at, last_error) "
            "SELECT %s, jsonb_build_object('payment_id', p.id::text), now(), 0, now(), '' "
            f"FROM {Payment._meta.db_table} p WHERE p.status = %s AND NOT EXISTS ("
            f"  SELECT 1 FROM {outbox_table} m"
            "   WHERE m.kind = %s AND m.payload->>'payment_id' = p.id::text"
            ") ORDER BY p.created_at LIMIT %s",
            [REFUND, Payment.Status.REFUND_PENDING, REFUND, batch],
        )
        redriven = cursor.rowcount
    if redriven:
        logger.warning("%s refund_pending payments had no refund message: re-driven", redriven)
    return redriven


def payment_refund_issue(*, payment_id: str) -> None:
    """Ask the provider for the money back (called by a task, outside transactions)."""
    payment = Payment.objects.get(pk=payment_id)
    if payment.status != Payment.Status.REFUND_PENDING:
        return
    provider_get(payment.provider).refund(payment)


def refund_partial_issue(*, refund_id: int) -> None:
    """Ask the provider for one partial refund's amount (an outbox handler,
    outside transactions). Idempotent: only a `requested` refund is asked for,
    under its own reference, which the provider refunds once."""
    refund = Refund.objects.select_related("payment").get(pk=refund_id)
    if refund.status != Refund.Status.REQUESTED or refund.whole:
        return
    if refund.payment.status != Payment.Status.SUCCEEDED:
        # A whole refund of the payment came first: it returns all that is
        # left, this part included (its callback marks this refund done).
        return
    provider_get(refund.payment.provider).refund(
        refund.payment, amount=refund.amount, reference=str(refund.pk)
    )


def _order_unsell(order: Order) -> dict[str, int]:
    """Void a paid order's tickets, put their stock back on sale, mark it refunded.

    A ticket already used at the gate keeps its seat or standing place sold
    (and stays `used`): the person is inside, so selling the place again would
    put two people on one seat. Its money is still returned: refunding is the
    staff's (or the provider's) decision, the stock is a fact. Caller holds
    the Hold and Order locks; stock moves by conditional UPDATE on this
    order's rows only.
    """
    unsold = _tickets_unsell(order, list(order.tickets.exclude(status=Ticket.Status.VOID)))
    order.status = Order.Status.REFUNDED
    order.save(update_fields=["status"])
    order_record(state="refunded", orders=[(order.pk, order.partner_id)])
    order_announce(signal=order_refunded, order=order)
    return unsold


def _tickets_unsell(order: Order, tickets: list[Ticket]) -> dict[str, int]:
    """Void these tickets of the order and put their places back on sale, except
    the places of used tickets (see _order_unsell). Caller holds the order lock."""
    valid = [t for t in tickets if t.status == Ticket.Status.VALID]
    holdkinds.kind_of(order.hold).unsell(order, valid)
    voided = Ticket.objects.filter(pk__in=[t.pk for t in valid], status=Ticket.Status.VALID).update(
        status=Ticket.Status.VOID
    )
    return {"tickets_voided": voided, "tickets_used": len(tickets) - len(valid)}


def _refund_choice(order: Order, ticket_ids: list[int] | None) -> tuple[list[Ticket], bool]:
    """The tickets a refund gives back and whether that is all that is left.

    Refundable: the order's tickets not void and not in an earlier refund (a
    used ticket stays `used` when refunded, so the earlier refunds say it).
    Caller holds the order lock, so two staff refunding at once see each
    other's result. Raises RefundInvalid for anything else."""
    done = {pk for ids in order.refunds.values_list("ticket_ids", flat=True) for pk in ids}
    refundable = [
        t
        for t in order.tickets.exclude(status=Ticket.Status.VOID).order_by("id")
        if t.pk not in done
    ]
    if ticket_ids is None:
        return refundable, True
    by_id = {t.pk: t for t in refundable}
    unknown = sorted({pk for pk in ticket_ids if pk not in by_id})
    if unknown:
        raise RefundInvalid(
            _("Some of the chosen tickets are not this order's or are refunded already."),
            details={"tickets": [str(pk) for pk in unknown]},
        )
    chosen = [by_id[pk] for pk in sorted(set(ticket_ids))]
    if not chosen:
        raise RefundInvalid(
            _("Choose at least one ticket to refund."), details={"tickets": ["empty"]}
        )
    return chosen, len(chosen) == len(refundable)


def order_refund(
    *,
    order: Order,
    actor_user: Any = None,
    ticket_ids: list[int] | None = None,
    reason: str = "",
    notify: bool = True,
) -> Refund | None:
    """Staff refund of a paid order, whole or of chosen tickets: the tickets
    void, their places back on sale, their money back, the buyer told.

    Returns the Refund (None when nothing was paid: no succeeded payment).
    `ticket_ids` None: every ticket not refunded yet (the whole order). When
    the chosen tickets are all that is left, the refund is whole: the order
    turns `refunded` and its payments `refund_pending` (the provider returns
    what remains). Otherwise it is partial: the order stays paid for its other
    tickets, its `quantity` counts only those (so the per-buyer limit and the
    audit's "paid order without its tickets" stay true), and the provider is
    asked for these tickets' price only. Either way the provider call and the
    buyer's e-mail (unless `notify` is False: the caller sends its own, as
    event_cancel does) are outbox rows of this transaction. A partner's order
    is told to the partner as `order.refunded`, or `order.partially_refunded`
    with the refund's amount and tickets. Used tickets are refunded too, but
    their places stay sold (see _order_unsell).

    Locks the Hold, then the order, then its payments (the module's lock
    order): a double submit or two staff at once queue on the order lock and
    the second finds the tickets refunded (RefundInvalid) or the order no
    longer paid (OrderNotRefundable). Never more than what is left paid.
    """
    reason = (reason or "").strip()
    with transaction.atomic():
        order = order_lock(order=order)
        if order.status != Order.Status.PAID:
            raise OrderNotRefundable()
        payments = list(
            Payment.objects.select_for_update()
            .filter(order=order, status=Payment.Status.SUCCEEDED)
            .order_by("created_at")
        )
        chosen, whole = _refund_choice(order, ticket_ids)
        paid = sum((p.amount for p in payments), Decimal("0"))
        before = sum(order.refunds.values_list("amount", flat=True), Decimal("0"))
        left = paid - before
        amount = left if whole else sum((t.price for t in chosen), Decimal("0"))
        if not whole and not 0 < amount <= left:
            raise RefundInvalid(
                _("The refund (%(amount)s) is more than what is left of the payment (%(left)s).")
                % {
                    "amount": money_format(amount, order.currency),
                    "left": money_format(left, order.currency),
                },
                details={"amount": [str(amount)]},
            )
        # A whole refund of an order nothing was paid for (no succeeded
        # payment) still voids and frees; there is just no money to give back.
        refund = None
        if payments and amount > 0:
            refund = Refund.objects.create(
                order=order,
                payment=payments[0],
                amount=amount,
                currency=order.currency,
                whole=whole,
                ticket_ids=[t.pk for t in chosen],
                reason=reason or "staff_refund",
                actor_user=actor_user if getattr(actor_user, "is_authenticated", False) else None,
            )
        refund_id = refund.pk if refund else None
        if whole:
            unsold = _order_unsell(order)
            for payment in payments:
                payment.status = Payment.Status.REFUND_PENDING
                payment.save(update_fields=["status"])
                audit_log(
                    action=AuditAction.PAYMENT_REFUND_REQUESTED,
                    obj=payment,
                    actor_user=actor_user,
                    data={"order": order.code, "reason": "staff_refund", "refund": refund_id},
                )
                _refund_request(payment)
        else:
            unsold = _tickets_unsell(order, chosen)
            order.quantity -= len(chosen)
            order.save(update_fields=["quantity"])
            audit_log(
                action=AuditAction.PAYMENT_REFUND_REQUESTED,
                obj=payments[0],
                actor_user=actor_user,
                data={
                    "order": order.code,
                    "reason": "staff_refund",
                    "refund": refund_id,
                    "amount": str(amount),
                    "partial": True,
                },
            )
            outbox_put(kind=PARTIAL_REFUND, payload={"refund_id": refund_id})
            if order.partner_id is not None:  # the web's own: no query for the details
                order_record(
                    state="partially_refunded",
                    orders=[(order.pk, order.partner_id)],
                    details={"refund": _refund_details(refund, order)},
                )
        audit_log(
            action=AuditAction.ORDER_REFUNDED if whole else AuditAction.ORDER_PARTLY_REFUNDED,
            obj=order,
            actor_user=actor_user,
            data={
                **unsold,
                "payments": [str(p.pk) for p in payments],
                "refund": refund_id,
                "tickets": [t.pk for t in chosen],
                "amount": str(amount),
                "reason": reason or "staff_refund",
            },
        )
        if refund and reason and notify:  # staff decided and explained: the buyer hears of it
            outbox_put(kind=REFUND_MAIL, payload={"refund_id": refund_id})
    return refund


def _refund_details(refund: Refund, order: Order) -> dict[str, Any]:
    """A partial refund as a partner's webhook tells it (`data.refund`)."""
    codes = Ticket.objects.filter(pk__in=refund.ticket_ids).order_by("pk")
    return {
        "id": refund.pk,
        "amount": str(refund.amount),
        "currency": refund.currency,
        "partial": not refund.whole,
        "tickets": list(codes.values_list("code", flat=True)),
        "reason": refund.reason,
        "remaining_quantity": order.quantity,
    }


def order_refund_by_buyer(*, order: Order, user: Any, now: Any = None) -> Refund | None:
    """The buyer refunds their own paid order in their account: every ticket
    not refunded yet, through order_refund (places back on sale, the money
    back through the provider via the outbox, the refund e-mail).

    Allowed until the event's refund_cutoff_minutes before its start; None
    there → BuyerRefundNotAllowed (403), past it → BuyerRefundClosed (409),
    not the user's order → OrderNotFound (as if it did not exist), not paid →
    OrderNotRefundable (409). The checks run under the order lock (order_lock),
    then order_refund takes the same locks again in this transaction, so a
    double submit refunds once and the second sees the order refunded.
    """
    now = now or timezone.now()
    with transaction.atomic():
        order = order_lock(order=order)
        if not getattr(user, "is_authenticated", False) or order.user_id != user.pk:
            raise OrderNotFound()
        if order.status != Order.Status.PAID:
            raise OrderNotRefundable()
        minutes = order.event.refund_cutoff_minutes
        if minutes is None:
            raise BuyerRefundNotAllowed()
        if now >= order.event.starts_at - timedelta(minutes=minutes):
            raise BuyerRefundClosed()
        with translation.override(order.language):
            # Stored as the buyer reads it in the refund e-mail.
            reason = str(_("You refunded the order in your account."))
        return order_refund(order=order, actor_user=user, reason=reason)


def _partial_refund_done(*, payment: Payment, order: Order, event: CallbackEvent) -> str:
    """The provider's callback for one partial refund (its `refund_id`): the
    Refund row `requested` → `done`, once. The payment keeps paying for the
    order's other tickets. Caller holds the Hold, Order and Payment locks."""
    done = Refund.objects.filter(
        pk=int(event.refund_id) if event.refund_id.isdigit() else 0,
        payment=payment,
        amount=event.amount,
        status=Refund.Status.REQUESTED,
    ).update(status=Refund.Status.DONE, completed_at=timezone.now())
    if not done:
        return "ignored"
    audit_log(
        action=AuditAction.PAYMENT_REFUNDED,
        obj=payment,
        actor="gateway:" + payment.provider,
        data={"order": order.code, "refund": int(event.refund_id), "amount": str(event.amount)},
    )
    return "partially_refunded"


ON_ACCOUNT = "on_account"
ON_ACCOUNT_SECRET_PREFIX = "onacc_"  # noqa: S105 (a prefix, not a secret)


def partner_on_account_enable(*, partner: Partner, actor_user: Any = None) -> str:
    """Let `partner` pay its orders on account (payments.on_account) and make
    its confirmation secret; returns the secret, to be shown to staff once.

    Enabling again makes a new secret: the old one no longer signs (a leaked
    secret is replaced this way). Audited as `partner.on_account_enabled`."""
    secret = ON_ACCOUNT_SECRET_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        partner = Partner.objects.select_for_update().get(pk=partner.pk)
        rotated = bool(partner.on_account_secret)
        partner.on_account, partner.on_account_secret = True, secret
        partner.save(update_fields=["on_account", "on_account_secret"])
        audit_log(
            action=AuditAction.PARTNER_ON_ACCOUNT_ENABLED,
            obj=partner,
            actor_user=actor_user,
            data={"partner": partner.slug, "secret_replaced": rotated},
        )
    return secret


def partner_on_account_disable(*, partner: Partner, actor_user: Any = None) -> bool:
    """Stop `partner`'s on-account payment: its secret is forgotten, so no
    confirmation is accepted any more (orders paid before stay paid and in
    its settlement reports); returns whether it was on. Audited as
    `partner.on_account_disabled`."""
    with transaction.atomic():
        partner = Partner.objects.select_for_update().get(pk=partner.pk)
        if not (partner.on_account or partner.on_account_secret):
            return False
        partner.on_account, partner.on_account_secret = False, ""
        partner.save(update_fields=["on_account", "on_account_secret"])
        audit_log(
            action=AuditAction.PARTNER_ON_ACCOUNT_DISABLED,
            obj=partner,
            actor_user=actor_user,
            data={"partner": partner.slug},
        )
    return True


def _confirmation_parse(body: bytes) -> tuple[Decimal, str, str]:
    """(amount, currency, reference) of a confirmation body, or BadConfirmation."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise BadConfirmation(details={"body": ["not JSON"]}) from None
    if not isinstance(data, dict):
        raise BadConfirmation(details={"body": ["not an object"]})
    errors: dict[str, list[str]] = {}
    amount = None
    raw_amount = data.get("amount")
    if isinstance(raw_amount, str):
        try:
            amount = Decimal(raw_amount)
        except InvalidOperation:
            amount = None
    if amount is None or not amount.is_finite() or amount < 0:
        errors["amount"] = [_('A decimal amount as a string, e.g. "20000.00".')]
    currency = data.get("currency")
    if not (isinstance(currency, str) and len(currency) == 3):
        errors["currency"] = [_("A three-letter currency code.")]
    reference = data.get("reference")
    if not (
        isinstance(reference, str)
        and 0 < len(reference.strip()) <= 80
        and reference.isprintable()  # no NUL or control characters (text and jsonb)
    ):
        errors["reference"] = [_("The partner's own transaction id, 1 to 80 characters.")]
    if errors:
        raise BadConfirmation(details=errors)
    return amount, currency.upper(), reference.strip()


def payment_on_account_confirm(
    *, partner: Partner, order_id: int, payment_id: Any, body: bytes, signature: str
) -> tuple[Payment, str, str]:
    """A partner's confirmation that it charged its customer for an on-account
    payment: settle it as a provider's `succeeded` callback (the same code
    path: stock, limits, tickets, audit and mail behave the same). Returns
    (the payment, what happened: `paid`, `refunding` when the order could not
    be sold any more, or `duplicate` for a confirmation already applied, the
    reference). The reference is kept on the payment (`provider_ref`) when
    it sold the order: that is the settlement report's line.

    `body` is the raw request body {"amount", "currency", "reference"}, signed
    by `signature` (payments.signatures) with the partner's on-account secret.
    Idempotent by the partner's reference: the same confirmation twice pays
    once (the callback's (provider, event id) uniqueness, event id
    `<partner>:<reference>`). Nothing changes for a confirmation unsigned,
    wrongly signed or malformed (BadConfirmation), of another partner's or an
    unknown payment (PaymentNotFound), of another amount or currency, or whose
    reference confirmed another payment, or of a payment already confirmed
    under another reference (ConfirmationMismatch).
    """
    if not (
        partner.on_account
        and stamped_valid(header=signature, body=body, secret=partner.on_account_secret)
    ):
        logger.warning("on-account confirmation for order %s refused: bad signature", order_id)
        raise BadConfirmation(details={"signature": ["missing, wrong or too old"]})
    amount, currency, reference = _confirmation_parse(body)
    payment = Payment.objects.filter(
        pk=payment_id, order_id=order_id, provider=ON_ACCOUNT, order__partner=partner
    ).first()
    if payment is None:
        raise PaymentNotFound()
    if amount != payment.amount or currency != payment.currency:
        raise ConfirmationMismatch(
            details={"amount": [f"{payment.amount} {payment.currency}"]},
        )
    event_id = event_id_of(partner, reference)
    event = CallbackEvent(
        event_id=event_id,
        payment_id=str(payment.pk),
        status="succeeded",
        amount=amount,
        currency=currency,
        payload={
            "source": "on_account_confirmation",
            "partner": partner.slug,
            "amount": str(amount),
            "currency": currency,
            "reference": reference,
        },
    )
    with transaction.atomic():
        result = payment_callback_handle(provider=ON_ACCOUNT, event=event)
        # The reference's first use decides: another payment's confirmation
        # (its callback row holds that payment), or this payment settled by
        # another reference (`ignored`), is refused and rolled back.
        recorded = PaymentCallback.objects.get(provider=ON_ACCOUNT, event_id=event_id)
        if recorded.payment_id != payment.pk or result == "ignored":
            raise ConfirmationMismatch(details={"reference": [reference]})
        if result == "paid":
            Payment.objects.filter(pk=payment.pk).update(provider_ref=reference)
    payment.refresh_from_db()
    return payment, result, reference
