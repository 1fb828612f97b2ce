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
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import OperationalError, connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.selectors import Buyer
from events import stock
from events.models import Event, SalePhase, Section, StandingArea
from events.selectors import SaleSnapshot, sale_snapshot
from orders.exceptions import (
    AccessCodeRequired,
    HoldNotActive,
    LimitExceeded,
    NotEnoughSeats,
    PhaseClosed,
    SeatUnavailable,
    StockBusy,
    ValidationFailed,
)
from orders.models import Hold, HoldStanding, Order
from queueing import selectors as queue_selectors
from ticketing import metrics
from ticketing.audit import AuditAction, audit_log

# A lock wait longer than this becomes "busy, try again" instead of a hung request.
LOCK_TIMEOUT = "3s"
# Best-available first looks at this many of the best free seats; only when no
# block fits there does it read the whole tier/section.
BEST_WINDOW = 2000
# How many candidate blocks best-available tries to lock before giving up.
BEST_ATTEMPTS = 25

_LIMIT_SQL = """
SELECT
  (SELECT coalesce(sum(quantity), 0) FROM orders_hold
   WHERE event_id = %s AND buyer_key = %s AND status = 'active' AND expires_at > %s),
  (SELECT coalesce(sum(quantity), 0) FROM orders_order
   WHERE event_id = %s AND buyer_key = %s
     AND (status = 'paid' OR (status = 'pending_payment' AND expires_at > %s)))
"""


@dataclass(frozen=True)
class _Request:
    kind: str  # "seats" | "best" | "standing"
    quantity: int
    seat_ids: tuple[int, ...] = ()
    tier_id: int | None = None
    section_id: int | None = None


# --- public services -------------------------------------------------------


@metrics.counted(metrics.HOLDS, success="created")
def hold_create(
    *,
    event: Event,
    buyer: Buyer,
    seats: list[int] | None = None,
    best_available: dict[str, Any] | None = None,
    standing: dict[str, Any] | None = None,
    access_code: str | None = None,
    queue_pass: str | None = None,
    user: Any = None,
) -> Hold:
    """Reserve stock for `buyer`: explicit seats, N best seats together, or standing places.

    Exactly one of `seats` (EventSeat ids), `best_available` ({quantity, tier?,
    section?}) or `standing` ({section, quantity}) is given. All of it is held
    or nothing (conditional UPDATEs with row-count checks, one transaction).
    Enforces, in the same transaction: a sale phase open for the buyer's
    channel, its access code, its queue pass, and its per-buyer limit
    (held + pending + paid tickets of this buyer). Locks: see the module doc.
    """
    sale = sale_snapshot(event.pk)
    if sale is None:  # deleted since the caller looked it up
        raise PhaseClosed()
    request = _parse_request(sale, seats, best_available, standing)
    now = timezone.now()
    expires_at = now + timedelta(minutes=settings.HOLD_MINUTES)
    try:
        with transaction.atomic():
            phase = _open_phase(sale, buyer, now)
            cap = _check_entry(phase, event, buyer, access_code, queue_pass)
            if request.quantity > cap:
                raise ValidationFailed(
                    details={"quantity": [_("At most %(n)d tickets per buyer.") % {"n": cap}]}
                )
            _lock_buyer(event, buyer)
            _check_limit(event, buyer, request.quantity, cap, now)
            hold_id = uuid.uuid4()
            standing_take: tuple[StandingArea, int] | None = None
            if request.kind == "standing":
                area = _take_standing(event, request, now)
                standing_take = (area, request.quantity)
                taken: list[int] = []
                total = area.tier.price * request.quantity
                items = [_standing_item(sale, area, request.quantity)]
            else:
                if request.kind == "seats":
                    rows = _take_seats(event, list(request.seat_ids), hold_id, expires_at, now)
                else:
                    rows = _take_best(event, request, hold_id, expires_at, now)
                taken = sorted(row[0] for row in rows)
                total = sum((row[1] for row in rows), Decimal("0"))
                items = _seat_items(rows)
            hold = Hold.objects.create(
                id=hold_id,
                event=event,
                phase=phase,
                buyer_key=buyer.key,
                channel=buyer.channel,
                user_id=buyer.user_id or getattr(user, "pk", None),
                seat_ids=taken,
                quantity=request.quantity,
                total=total,
                currency=event.currency,
                expires_at=expires_at,
                created_at=now,
            )
            if standing_take is not None:
                HoldStanding.objects.create(
                    hold=hold, area=standing_take[0], quantity=standing_take[1]
                )
            audit_log(
                action=AuditAction.HOLD_CREATED,
                obj=hold,
                actor_user=user,
                actor=buyer.key,
                data={
                    "kind": request.kind,
                    "seats": taken,
                    "quantity": request.quantity,
                    "total": str(total),
                    "phase": phase.pk,
                },
            )
            # What the response shows, from the rows already read under lock
            # (saves re-reading seats, sections and tiers for the body).
            hold.items = items
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


def _parse_request(
    sale: SaleSnapshot,
    seats: list[int] | None,
    best: dict[str, Any] | None,
    standing: dict[str, Any] | None,
) -> _Request:
    given = [v for v in (seats, best, standing) if v is not None]
    if len(given) != 1:
        raise ValidationFailed(
            details={
                "non_field_errors": [_("Give exactly one of seats, best_available or standing.")]
            }
        )
    if seats is not None:
        return _Request(kind="seats", quantity=len(seats), seat_ids=_check_seat_ids(seats))
    if best is not None:
        quantity = _check_quantity(best.get("quantity"), "best_available")
        tiers: dict[int | str, int] = {pk: pk for pk in sale.tiers}
        tier_id = _check_ref(best.get("tier"), tiers, "tier")
        seated = _sections(sale, Section.Kind.SEATED)
        section_id = _check_ref(best.get("section"), seated, "section")
        return _Request(kind="best", quantity=quantity, tier_id=tier_id, section_id=section_id)
    assert standing is not None
    quantity = _check_quantity(standing.get("quantity"), "standing")
    if standing.get("section") in (None, ""):
        raise ValidationFailed(details={"standing": [_("Choose a standing area.")]})
    section_id = _check_ref(
        standing.get("section"), _sections(sale, Section.Kind.STANDING), "section"
    )
    if section_id not in sale.standing:
        raise ValidationFailed(details={"section": [_("This area is not on sale.")]})
    return _Request(kind="standing", quantity=quantity, section_id=section_id)


def _sections(sale: SaleSnapshot, kind: str) -> dict[int | str, int]:
    """The venue's sections of one kind, by id and by code."""
    found: dict[int | str, int] = {}
    for section in sale.sections.values():
        if section.kind == kind:
            found[section.pk] = found[section.code] = section.pk
    return found


def _check_seat_ids(seats: list[Any]) -> tuple[int, ...]:
    if not isinstance(seats, list | tuple) or not seats:
        raise ValidationFailed(details={"seats": [_("Choose at least one seat.")]})
    if not all(isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in seats):
        raise ValidationFailed(details={"seats": [_("Seat ids must be positive integers.")]})
    if len(set(seats)) != len(seats):
        dupes = sorted({s for s in seats if seats.count(s) > 1})
        raise ValidationFailed(
            details={"seats": [_("Each seat may be chosen once: %(ids)s") % {"ids": dupes}]}
        )
    # Unknown ids are found by the locking read in _take_seats (one round trip less).
    return tuple(sorted(seats))


def _check_quantity(value: Any, field: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValidationFailed(details={field: [_("Quantity must be a whole number from 1.")]})
    return value


def _check_ref(value: Any, known: dict[int | str, int], field: str) -> int | None:
    """Resolve a tier/section given by id (or, for sections, by code)."""
    if value in (None, ""):
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        found = known.get(value)
    elif isinstance(value, str) and field == "section":
        found = known.get(value)
    else:
        found = None
    if found is None:
        raise ValidationFailed(details={field: [_("Unknown %(field)s.") % {"field": field}]})
    return found


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


def _lock_buyer(event: Event, buyer: Buyer) -> None:
    # Serialises this buyer's holds for this event only (held to commit). The
    # same statement first bounds every lock wait of this transaction: a wait
    # past LOCK_TIMEOUT becomes "busy, try again" rather than a hung request.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT set_config('lock_timeout', %s, true), pg_advisory_xact_lock(hashtext(%s))",
            [LOCK_TIMEOUT, _buyer_lock_key(event.pk, buyer.key)],
        )


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


def _check_limit(event: Event, buyer: Buyer, wanted: int, cap: int, now: datetime) -> None:
    held, ordered = _tickets_counted(event.pk, buyer.key, now)
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


# --- taking stock ----------------------------------------------------------


def _take_seats(
    event: Event, seat_ids: list[int], hold_id: uuid.UUID, until: datetime, now: datetime
) -> list[tuple]:
    """All of `seat_ids` or nothing: lock them in id order, then one conditional UPDATE.

    Returns the locked rows (see stock.seats_lock). Unknown ids → validation_error;
    any seat not free → seat_unavailable listing those ids (the transaction
    rolls back).
    """
    rows, marked = stock.seats_take(
        event_id=event.pk, seat_ids=seat_ids, hold_id=hold_id, until=until, now=now
    )
    unknown = sorted(set(seat_ids) - {row[0] for row in rows})
    if unknown:
        raise ValidationFailed(
            details={"seats": [_("Unknown seats for this event: %(ids)s") % {"ids": unknown}]}
        )
    gone = [row[0] for row in rows if not row[2]]
    if gone:
        raise SeatUnavailable(details={"seats": gone})
    if marked != len(seat_ids):
        # Cannot happen while we hold the row locks; fail closed if it does.
        raise SeatUnavailable(details={"seats": sorted(seat_ids)})
    return rows


def _seat_items(rows: list[tuple]) -> list[dict]:
    """The hold's seats for the response, in map order (section, row, number)."""
    rows = sorted(rows, key=lambda row: (row[3], row[5], row[7]))
    return [
        {
            "seat": seat_id,
            "section": section_name,
            "row": row_label,
            "number": number,
            "tier": tier_name,
            "price": str(price),
        }
        for seat_id, price, _free, _sec, section_name, _ri, row_label, number, tier_name in rows
    ]


def _standing_item(sale: SaleSnapshot, area: StandingArea, quantity: int) -> dict:
    return {
        "standing": area.section_id,
        "section": sale.sections[area.section_id].name,
        "quantity": quantity,
        "tier": area.tier.name,
        "price": str(area.tier.price),
    }


def _mark_held(seat_ids: list[int], hold_id: uuid.UUID, until: datetime, now: datetime) -> None:
    marked = stock.seats_mark_held(seat_ids=seat_ids, hold_id=hold_id, until=until, now=now)
    if marked != len(seat_ids):
        # Cannot happen while we hold the row locks; fail closed if it does.
        raise SeatUnavailable(details={"seats": sorted(seat_ids)})


def _take_best(
    event: Event, request: _Request, hold_id: uuid.UUID, until: datetime, now: datetime
) -> list[tuple]:
    """N seats side by side in one row, the best block first.

    Reads candidate free seats without locks, ranks every run of N adjacent
    numbers by total quality (lower is better), then tries to lock each block
    with FOR UPDATE SKIP LOCKED inside a savepoint: a block partly locked or
    taken by another buyer is skipped (savepoint rolled back, its locks
    dropped) and the next best is tried. Only N rows are locked per attempt,
    so concurrent buyers spread over different blocks instead of queueing.

    The first read looks at the BEST_WINDOW best free seats only. When no
    block there can be had (none fits, or rivals took every one), the whole
    tier/section is read once more: late in a sale the best area is full of
    single leftover seats, and a buyer must not be told "not enough seats"
    while blocks are free further back.
    """
    n = request.quantity
    tried: set[tuple[int, ...]] = set()
    for limit in (BEST_WINDOW, None):
        blocks, complete = _best_blocks(event, request, now, limit=limit)
        fresh = [block for block in blocks if tuple(block) not in tried]
        for block in fresh[:BEST_ATTEMPTS]:
            tried.add(tuple(block))
            try:
                with transaction.atomic():
                    rows = stock.seats_lock(
                        event_id=event.pk, seat_ids=block, now=now, skip_locked=True
                    )
                    if sum(1 for row in rows if row[2]) != n:
                        raise _BlockTaken()
                    _mark_held(block, hold_id, until, now)
                    return rows
            except _BlockTaken:
                continue
        if complete:
            break
    raise NotEnoughSeats(details={"quantity": n})


class _BlockTaken(Exception):
    pass


def _best_blocks(
    event: Event, request: _Request, now: datetime, *, limit: int | None
) -> tuple[list[list[int]], bool]:
    """Candidate blocks, best first, and whether every free seat was read."""
    where = [f"es.event_id = %s AND {stock.AVAILABLE}"]
    params: list[Any] = [event.pk, now]
    if request.tier_id is not None:
        where.append("es.tier_id = %s")
        params.append(request.tier_id)
    if request.section_id is not None:
        where.append("es.section_id = %s")
        params.append(request.section_id)
    sql = (
        "SELECT es.id, es.section_id, s.row_index, s.number, s.quality_rank, es.tier_id "  # noqa: S608
        "FROM events_eventseat es JOIN events_seat s ON s.id = es.seat_id "
        f"WHERE {' AND '.join(where)} ORDER BY s.quality_rank, es.id"
    )
    if limit is not None:
        sql += " LIMIT %s"
        params.append(limit)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    by_row: dict[tuple[int, int, int], list[tuple[int, int, int]]] = defaultdict(list)
    for seat_id, section_id, row_index, number, rank, tier_id in rows:
        # A block stays within one price tier so its price is what was asked for.
        by_row[(section_id, row_index, tier_id)].append((number, seat_id, rank))
    n = request.quantity
    ranked: list[tuple[int, int, list[int]]] = []
    for seats in by_row.values():
        seats.sort()
        for i in range(len(seats) - n + 1):
            window = seats[i : i + n]
            if window[-1][0] - window[0][0] == n - 1:  # consecutive numbers
                score = sum(rank for _, _, rank in window)
                ranked.append((score, window[0][1], [seat_id for _, seat_id, _ in window]))
    ranked.sort(key=lambda item: (item[0], item[1]))
    complete = limit is None or len(rows) < limit
    return [ids for _, _, ids in ranked], complete


def _take_standing(event: Event, request: _Request, now: datetime) -> StandingArea:
    area = stock.standing_lock(event_id=event.pk, section_id=request.section_id)
    _return_expired_standing(area, now)
    if not stock.standing_take(area_id=area.pk, quantity=request.quantity):
        area.refresh_from_db(fields=["held", "sold", "capacity"])
        raise NotEnoughSeats(
            _("Not enough places left in this area."),
            details={"available": area.available, "requested": request.quantity},
        )
    return area


def _return_expired_standing(area: StandingArea, now: datetime) -> None:
    """Give back the places of this area's expired, unpaid holds (caller holds the area lock).

    This is what makes standing expiry exact without a worker. Holds locked
    by someone else right now (payment or sweeper) are skipped: whoever holds
    them settles them.
    """
    expired = list(
        Hold.objects.select_for_update(skip_locked=True, of=("self",)).filter(
            _stock_holding_q(), standing__area=area, expires_at__lt=now
        )
    )
    for hold in expired:
        _expire_hold(hold, actor="system:hold_create")


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
    expired_orders = list(
        Order.objects.filter(hold=hold, status=Order.Status.PENDING_PAYMENT).values_list(
            "pk", flat=True
        )
    )
    Order.objects.filter(pk__in=expired_orders).update(status=Order.Status.EXPIRED)
    audit_log(action=AuditAction.HOLD_EXPIRED, obj=hold, actor=actor)
    for order_id in expired_orders:
        audit_log(
            action=AuditAction.ORDER_EXPIRED,
            object_type="orders.order",
            object_id=str(order_id),
            actor=actor,
        )


def hold_stock_return(*, hold: Hold) -> None:
    """Give back whatever this hold still owns: its seats not taken over since,
    and its standing places while they still count (an active or ordered hold;
    an expired or released one gave them back already). Caller locks the hold.
    """
    stock.seats_return(hold_id=hold.pk, seat_ids=list(hold.seat_ids))
    if hold.status in (Hold.Status.ACTIVE, Hold.Status.CONVERTED):
        for line in HoldStanding.objects.filter(hold=hold):
            stock.standing_return(area_id=line.area_id, quantity=line.quantity)


def _is_lock_timeout(exc: OperationalError) -> bool:
    return getattr(getattr(exc, "__cause__", None), "sqlstate", None) == "55P03"
