"""Holds: a buyer's stock reserved for a few minutes.

Lock order (every service here takes locks in this order, so two of them can
never wait on each other in a cycle):

  1. the buyer's advisory lock  pg_advisory_xact_lock(hashtext('<event>:<buyer>'))
  2. the StandingArea row       SELECT ... FOR UPDATE
  3. Hold rows                  only with SKIP LOCKED while 2 is held
  4. EventSeat rows             in ascending id order

The advisory lock serialises one buyer's concurrent holds so the per-buyer
limit is counted and enforced in one step (invariant 4); other buyers never
touch it. A late payment reviving an expired order takes the same lock (after
its Hold, Order and Payment rows, see buyer_limit_lock_and_count) so the
revived tickets are counted against the limit too. Seats are locked in id
order because two holds asking for overlapping seats in different orders
would otherwise deadlock. The sweeper and release lock a Hold row before the
area row; that is safe because hold_create only ever takes Hold rows with
SKIP LOCKED (it never waits for one).

Expiry is exact without a worker (invariant 2): a seat row with
status='held' and held_until in the past is taken directly by the next
conditional UPDATE; standing places of expired holds are returned lazily by
hold_create under the area's row lock. The sweeper (holds_expire) only tidies.

Every seat and standing counter moves through events/stock.py (conditional
UPDATEs with checked row counts); this module decides what to move and when.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import OperationalError, connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.selectors import Buyer
from events.models import Event, SalePhase
from events.selectors import SaleSnapshot, sale_snapshot
from events.services import allocations_release_due
from orders import holdkinds
from orders.exceptions import (
    AccessCodeRequired,
    HoldNotActive,
    LimitExceeded,
    PhaseClosed,
    StockBusy,
    ValidationFailed,
)
from orders.hooks import order_record
from orders.models import Hold, Order
from queueing import selectors as queue_selectors
from ticketing import metrics
from ticketing.audit import AuditAction, audit_entry, audit_log
from ticketing.rows import rows_insert

# A lock wait longer than this becomes "busy, try again" instead of a hung request.
LOCK_TIMEOUT = "3s"
_LIMIT_SQL = """
SELECT
  (SELECT coalesce(sum(quantity), 0) FROM orders_hold
   WHERE event_id = %s AND buyer_key = %s AND status = 'active' AND expires_at > %s),
  (SELECT coalesce(sum(quantity), 0) FROM orders_order
   WHERE event_id = %s AND buyer_key = %s
     AND (status = 'paid' OR (status = 'pending_payment' AND expires_at > %s)))
"""


# --- public services -------------------------------------------------------


@metrics.counted(metrics.HOLDS, success="created")
def hold_create(
    *,
    event: Event,
    buyer: Buyer,
    access_code: str | None = None,
    queue_pass: str | None = None,
    user: Any = None,
    **requested: Any,
) -> Hold:
    """Reserve stock for `buyer`: explicit seats, N best seats together, or standing places.

    `requested` is exactly one hold kind's key with a value that is not None
    (orders/holdkinds: `seats` = EventSeat ids, `best_available` = {quantity,
    tier?, section?}, `standing` = {section, quantity}); that kind parses it
    and takes the stock. All of it is held
    or nothing (conditional UPDATEs with row-count checks, one transaction).
    Enforces, in the same transaction: a sale phase open for the buyer's
    channel, its access code, its queue pass, and its per-buyer limit
    (held + pending + paid tickets of this buyer). Locks: see the module doc.
    """
    sale = sale_snapshot(event.pk)
    # Deleted since the caller looked it up, or called off (payments'
    # event_cancel; the snapshot may be SALE_SNAPSHOT_SECONDS old, which the
    # cancellation's second pass covers by releasing what was held meanwhile).
    if sale is None or sale.event.status == Event.Status.CANCELLED:
        raise PhaseClosed()
    request = holdkinds.request_parse(sale, requested)
    now = timezone.now()
    # A cinema keeps seats its own 10-15 minutes (Event.hold_minutes), read off
    # the snapshot so the hot path costs no extra query.
    expires_at = now + timedelta(minutes=sale.hold_minutes or settings.HOLD_MINUTES)
    try:
        with transaction.atomic():
            phase = _open_phase(sale, buyer, now)
            cap = _check_entry(phase, event, buyer, access_code, queue_pass)
            if request.quantity > cap:
                raise ValidationFailed(
                    details={"quantity": [_("At most %(n)d tickets per buyer.") % {"n": cap}]}
                )
            _check_limit(_lock_buyer_and_count(event, buyer, now), request.quantity, cap)
            hold_id = uuid.uuid4()
            taken = request.take(
                holdkinds.Take(
                    event=event,
                    sale=sale,
                    hold_id=hold_id,
                    until=expires_at,
                    now=now,
                    channel=buyer.channel,
                    phase_id=phase.pk,
                    expire_lapsed=_expire_lapsed,
                    expire_locked=_expire_locked,
                    release_due=_release_due,
                )
            )
            hold = Hold(
                id=hold_id,
                event=event,
                phase=phase,
                buyer_key=buyer.key,
                channel=buyer.channel,
                user_id=buyer.user_id or getattr(user, "pk", None),
                seat_ids=taken.seat_ids,
                quantity=request.quantity,
                total=taken.total,
                currency=event.currency,
                expires_at=expires_at,
                created_at=now,
            )
            audit = audit_entry(
                action=AuditAction.HOLD_CREATED,
                obj=hold,
                actor_user=user,
                actor=buyer.key,
                data={
                    "kind": request.name,
                    "seats": taken.seat_ids,
                    "quantity": request.quantity,
                    "total": str(taken.total),
                    "phase": phase.pk,
                },
            )
            # The hold, its kind's lines and its audit row: one round trip.
            rows_insert([hold, *taken.lines(hold), audit])
            # What the response shows, from the rows already read under lock
            # (saves re-reading seats, sections and tiers for the body).
            hold.items = taken.items
            return hold
    except OperationalError as exc:
        if _is_lock_timeout(exc):
            raise StockBusy() from exc
        raise


def hold_release(*, hold: Hold, actor: str = "", actor_user: Any = None) -> Hold:
    """Give a hold's stock back at once (the buyer changed their mind).

    Only an active hold can be released (an ordered one is cancelled through
    order_cancel). Locks the Hold row, then its standing area, then its seats.
    """
    with transaction.atomic():
        hold = Hold.objects.select_for_update().get(pk=hold.pk)
        if hold.status != Hold.Status.ACTIVE:
            raise HoldNotActive()
        hold_stock_return(hold=hold)
        hold.status = Hold.Status.RELEASED
        hold.save(update_fields=["status"])
        audit_log(action=AuditAction.HOLD_RELEASED, obj=hold, actor=actor, actor_user=actor_user)
    return hold


# The audit action of each final status a hold's stock is returned with.
_HOLD_ENDED = {
    Hold.Status.RELEASED: AuditAction.HOLD_RELEASED,
    Hold.Status.EXPIRED: AuditAction.HOLD_EXPIRED,
}


def hold_return_stock(*, hold: Hold, status: str, actor: str) -> None:
    """Return a locked hold's stock and set its final status (for order_cancel).

    Precondition: inside a transaction holding the Hold row lock.
    """
    hold_stock_return(hold=hold)
    hold.status = status
    hold.save(update_fields=["status"])
    audit_log(action=_HOLD_ENDED[status], obj=hold, actor=actor)


def holds_expire(*, now: datetime | None = None, batch: int = 500) -> int:
    """Sweep holds past expiry whose order is not paid: stock back, hold and order expired.

    Tidying only: buyers never wait for it (expired seats are takeable and
    expired standing places are returned by hold_create). Holds being worked
    on right now by another transaction are skipped (SKIP LOCKED) and picked
    up by the next sweep. Returns how many holds were expired.
    """
    now = now or timezone.now()
    with transaction.atomic():
        holds = list(
            Hold.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(_stock_holding_q(), expires_at__lt=now)
            .order_by("expires_at")[:batch]
        )
        for hold in holds:
            _expire_hold(hold, actor="system:sweeper")
    return len(holds)


# --- checks ----------------------------------------------------------------


def _open_phase(sale: SaleSnapshot, buyer: Buyer, now: datetime) -> SalePhase:
    for phase in sale.phases:
        if phase.is_open(now) and phase.allows_channel(buyer.channel):
            return phase
    raise PhaseClosed()


def _check_entry(
    phase: SalePhase,
    event: Event,
    buyer: Buyer,
    access_code: str | None,
    queue_pass: str | None,
) -> int:
    """Access code and queue pass of the phase; returns the buyer's ticket cap."""
    if phase.access_codes:
        wanted = {c.strip().upper() for c in phase.access_codes}
        if not access_code or access_code.strip().upper() not in wanted:
            raise AccessCodeRequired(details={"access_code": [_("Enter a valid access code.")]})
    cap = phase.per_buyer_limit
    if phase.requires_waiting_room:
        queue = queue_selectors.pass_validate(
            event_id=event.pk, buyer_key=buyer.key, token=queue_pass
        )
        if queue is not None and queue.purchase_cap:
            cap = min(cap, queue.purchase_cap)
    return cap


def _lock_buyer_and_count(event: Event, buyer: Buyer, now: datetime) -> tuple[int, int]:
    """Take the buyer's lock, then count their tickets under it: (held, ordered).

    The advisory lock serialises this buyer's holds for this event only (held
    to commit). The same statement first bounds every lock wait of this
    transaction: a wait past LOCK_TIMEOUT becomes "busy, try again" rather
    than a hung request. The count (_LIMIT_SQL) is a second statement sent in
    the same round trip: under READ COMMITTED each statement of a
    multi-statement query takes its own snapshot when it starts, so the
    count, starting after the lock is granted, sees every hold committed by
    the buyer's previous lock holder (in one statement it would not).
    """
    key = _buyer_lock_key(event.pk, buyer.key)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT set_config('lock_timeout', %s, true), pg_advisory_xact_lock(hashtext(%s)); "
            + _LIMIT_SQL,
            [LOCK_TIMEOUT, key, event.pk, buyer.key, now, event.pk, buyer.key, now],
        )
        cursor.nextset()
        return cursor.fetchone()


def _buyer_lock_key(event_id: int, buyer_key: str) -> str:
    return f"{event_id}:{buyer_key}"


def buyer_limit_lock_and_count(*, event_id: int, buyer_key: str) -> int:
    """Take the buyer's limit lock (the one hold_create takes) and count their
    tickets under it (the count _check_limit uses); for payments reviving an
    expired order, which stopped counting when it expired.

    Precondition: inside a transaction (the advisory lock is held to commit).
    The caller may already hold Hold/Order/Payment rows: hold_create, the only
    other taker of this lock, never waits for a Hold row (SKIP LOCKED) and
    never locks orders or payments, so this cannot close a cycle. No
    lock_timeout here: a callback must not fail because a hold was being made.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(hashtext(%s))", [_buyer_lock_key(event_id, buyer_key)]
        )
    return sum(_tickets_counted(event_id, buyer_key, timezone.now()))


def _tickets_counted(event_id: int, buyer_key: str, now: datetime) -> tuple[int, int]:
    """(held, ordered) against the buyer's limit: live holds, and orders awaiting
    payment or paid, in one round trip. The one count of invariant 4."""
    with connection.cursor() as cursor:
        cursor.execute(_LIMIT_SQL, [event_id, buyer_key, now, event_id, buyer_key, now])
        return cursor.fetchone()


def _check_limit(counted: tuple[int, int], wanted: int, cap: int) -> None:
    held, ordered = counted
    if held + ordered + wanted > cap:
        raise LimitExceeded(
            details={
                "limit": cap,
                "held": held,
                "ordered": ordered,
                "requested": wanted,
                "remaining": max(cap - held - ordered, 0),
            }
        )


def buyer_tickets_taken(*, event_id: int, buyer_key: str) -> int:
    """Tickets counting against the buyer's per-buyer limit now: live holds,
    orders awaiting payment and paid orders (the rule _check_limit enforces).
    A read without the buyer's lock: the waiting room uses it to say "limit
    reached" before a re-join; the hold re-checks under the lock."""
    return sum(_tickets_counted(event_id, buyer_key, timezone.now()))


def _expire_lapsed(now: datetime, **stock_filter: Any) -> None:
    """Expire the lapsed, unpaid holds matching `stock_filter` (a Hold filter
    such as standing__area=area), for a kind taking counted stock under that
    stock's lock (holdkinds.Take.expire_lapsed).

    This is what makes counted (standing) expiry exact without a worker.
    Holds locked by someone else right now (payment or sweeper) are skipped:
    whoever holds them settles them.
    """
    expired = list(
        Hold.objects.select_for_update(skip_locked=True, of=("self",)).filter(
            _stock_holding_q(), expires_at__lt=now, **stock_filter
        )
    )
    for hold in expired:
        _expire_hold(hold, actor="system:hold_create")


def _expire_locked(hold_ids: list) -> None:
    """Expire these lapsed holds, which the caller locked (SKIP LOCKED, under
    their stock's lock: holdkinds.Take.expire_locked)."""
    for hold in Hold.objects.filter(pk__in=hold_ids).order_by("pk"):
        _expire_hold(hold, actor="system:hold_create")


def _release_due(now: datetime, *, area: Any) -> None:
    """Release the locked area's allocations whose time has come, so a
    standing take counts their places as general (holdkinds.Take.release_due)."""
    allocations_release_due(now=now, area=area, actor_name="system:hold_create")


# --- giving stock back -----------------------------------------------------


def _stock_holding_q() -> Q:
    """Holds whose stock is still reserved: active, or ordered and awaiting payment."""
    return Q(status=Hold.Status.ACTIVE) | Q(
        status=Hold.Status.CONVERTED, order__status=Order.Status.PENDING_PAYMENT
    )


def _expire_hold(hold: Hold, *, actor: str) -> None:
    """Caller holds the Hold row lock."""
    hold_stock_return(hold=hold)
    hold.status = Hold.Status.EXPIRED
    hold.save(update_fields=["status"])
    expired = list(
        Order.objects.filter(hold=hold, status=Order.Status.PENDING_PAYMENT).values_list(
            "pk", "partner_id"
        )
    )
    expired_orders = [pk for pk, _partner in expired]
    Order.objects.filter(pk__in=expired_orders).update(status=Order.Status.EXPIRED)
    order_record(state="expired", orders=expired)
    audit_log(action=AuditAction.HOLD_EXPIRED, obj=hold, actor=actor)
    for order_id in expired_orders:
        audit_log(
            action=AuditAction.ORDER_EXPIRED,
            object_type="orders.order",
            object_id=str(order_id),
            actor=actor,
        )


def hold_stock_return(*, hold: Hold) -> None:
    """Give back whatever this hold still owns (its kind knows what that is:
    seats not taken over since, standing places while they still count).
    Caller locks the hold."""
    holdkinds.kind_of(hold).return_stock(hold)


def _is_lock_timeout(exc: OperationalError) -> bool:
    return getattr(getattr(exc, "__cause__", None), "sqlstate", None) == "55P03"
