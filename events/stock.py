"""Stock: the only code that moves EventSeat rows and StandingArea counters.

Holds, payments, refunds and the hold sweeper all call these functions; none
of them updates a seat or an area itself. Every move is a conditional UPDATE
whose row count is checked by the caller (invariant 1: all of a hold's stock
or none); the function answers with the count or with whether it moved all.

Ids, not orders' models, come in: events sits below orders (a hold and an
order are `hold_id` and `order_id`, as on EventSeat).

Locks (the caller's transaction holds them to commit; see the lock order in
orders/services/holds.py, which these are steps of):

  - a StandingArea row, by standing_lock, before any Hold row is read with
    SKIP LOCKED for it;
  - EventSeat rows in ascending id order (seats_take, seats_lock): two holds
    asking for overlapping seats in different orders would otherwise
    deadlock; ORDER BY id + FOR UPDATE makes PostgreSQL lock them in that order.

Channel allocations (events.Allocation): a seat tagged with an allocation is
taken only by a buyer it is open to (USABLE, in the same conditional
statements), until it is released; release_at counts as released at once,
so the release is exact without a worker too. A seat stays one row, so
allocated and general stock can never overlap or be counted twice. A
standing place is in exactly one of the area's counters: held, sold,
reserved (set aside for allocations, not taken yet) or free; an
allocation's own held/sold count its share. Both move under the area's row
lock, area first, then allocation (standing_take_allocated, _return, _sell,
_unsell, _reserve, _release), and the general sale takes only what is free.

Expiry is exact without a worker (invariant 2): a seat with status 'held' and
held_until in the past is available to the next conditional UPDATE (AVAILABLE
below). Standing places of an expired hold stay counted in `held` until the
hold is expired (by the next hold of that area or the sweeper), which returns
them with standing_return.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db import connection
from django.db.models import F, Q

from events.models import Allocation, EventSeat, PriceTier, StandingArea

# A seat free to take now: available, or held by a hold that has expired.
AVAILABLE = "(es.status = 'available' OR (es.status = 'held' AND es.held_until < %s))"
# A seat this buyer may take (with AVAILABLE: may take now): general stock,
# or an allocation that is released (by hand/task, or past release_at: exact
# without a worker) or open to the buyer's channel or phase. Parameters:
# usable_params(). The subquery reads a handful of rows once per statement
# (uncorrelated, so PostgreSQL hashes it): no extra round trip, and never
# stale. A caller that read "no allocations" a moment ago is still refused
# seats allocated since, because this reads the committed allocation rows,
# and under READ COMMITTED a seat row re-read after a lock wait carries the
# allocation id its locker committed.
USABLE = (
    "(es.allocation_id IS NULL OR es.allocation_id IN (SELECT a.id FROM events_allocation a "
    "WHERE a.event_id = %s AND (a.released_at IS NOT NULL OR a.release_at <= %s "
    "OR a.channel = %s OR (a.channel = 'partner:*' AND %s LIKE 'partner:%%') "
    "OR a.phase_id = %s)))"
)
_TAKEABLE = "(" + AVAILABLE + " AND " + USABLE + ")"
_LOCK_SQL = (
    "SELECT es.id, t.price, " + _TAKEABLE + ", es.section_id, sec.name, s.row_index, "  # noqa: S608
    "s.row_label, s.number, t.name FROM events_eventseat es "
    "JOIN events_pricetier t ON t.id = es.tier_id "
    "JOIN events_seat s ON s.id = es.seat_id "
    "JOIN events_section sec ON sec.id = es.section_id "
    "WHERE es.event_id = %s AND es.id = ANY(%s) ORDER BY es.id FOR UPDATE OF es {suffix}"
)
_MARK_HELD_SQL = (
    "UPDATE events_eventseat es SET status = 'held', hold_id = %s, held_until = %s "  # noqa: S608
    "WHERE es.id = ANY(%s) AND " + _TAKEABLE
)


def usable_params(
    *, event_id: int, now: datetime, channel: str, phase_id: int | None
) -> list[object]:
    """The parameters of USABLE, in its order."""
    return [event_id, now, channel, channel, phase_id]


def takeable_params(
    *, event_id: int, now: datetime, channel: str, phase_id: int | None
) -> list[object]:
    """The parameters of AVAILABLE followed by USABLE's."""
    return [now, *usable_params(event_id=event_id, now=now, channel=channel, phase_id=phase_id)]


# --- seats -------------------------------------------------------------------


def seats_take(
    *,
    event_id: int,
    seat_ids: list[int],
    hold_id: uuid.UUID,
    until: datetime,
    now: datetime,
    channel: str,
    phase_id: int | None,
) -> tuple[list[tuple], int]:
    """Lock these seats in id order and mark the free ones held, in one round trip.

    Exactly the two statements seats_lock and seats_mark_held run, in that
    order (the SELECT locks every row in id order before the UPDATE touches
    one), so the locking and deadlock argument is theirs. The UPDATE may mark
    some seats when others are gone or unknown: the caller then raises and the
    transaction rolls them back (all or nothing). A seat of an allocation not
    open to `channel`/`phase_id` counts as not free (USABLE). Returns (locked
    rows as seats_lock gives them, UPDATE row count).
    """
    scope = takeable_params(event_id=event_id, now=now, channel=channel, phase_id=phase_id)
    with connection.cursor() as cursor:
        cursor.execute(
            _LOCK_SQL.format(suffix="") + "; " + _MARK_HELD_SQL + " AND es.event_id = %s",
            [*scope, event_id, list(seat_ids), hold_id, until, list(seat_ids), *scope, event_id],
        )
        rows = cursor.fetchall()
        cursor.nextset()
        return rows, cursor.rowcount


def seats_lock(
    *,
    event_id: int,
    seat_ids: list[int],
    now: datetime,
    skip_locked: bool,
    channel: str,
    phase_id: int | None,
) -> list[tuple]:
    """Lock these seat rows in id order: [(id, price, free now for this buyer?,
    section id, section name, row index, row label, number, tier name)].

    ORDER BY id + FOR UPDATE: PostgreSQL locks the rows in that order, so
    overlapping requests queue up instead of deadlocking. Under READ COMMITTED
    a waiter gets the winner's committed row version, so `free` is computed
    on what the winner left. With skip_locked, rows locked by others are left out.
    The seat, section and tier columns feed the response body (no re-read).
    """
    suffix = "SKIP LOCKED" if skip_locked else ""
    scope = takeable_params(event_id=event_id, now=now, channel=channel, phase_id=phase_id)
    with connection.cursor() as cursor:
        cursor.execute(_LOCK_SQL.format(suffix=suffix), [*scope, event_id, list(seat_ids)])
        return cursor.fetchall()


def seats_mark_held(
    *,
    event_id: int,
    seat_ids: list[int],
    hold_id: uuid.UUID,
    until: datetime,
    now: datetime,
    channel: str,
    phase_id: int | None,
) -> int:
    """Mark locked seats held by this hold; returns how many moved.

    The conditional UPDATE (invariant 1): it repeats the availability and
    allocation tests so it can never overwrite someone else's live hold nor
    take another channel's allocation. The caller checks the count against
    len(seat_ids).
    """
    scope = takeable_params(event_id=event_id, now=now, channel=channel, phase_id=phase_id)
    with connection.cursor() as cursor:
        cursor.execute(_MARK_HELD_SQL, [hold_id, until, list(seat_ids), *scope])
        return cursor.rowcount


def seats_extend(*, hold_id: uuid.UUID, seat_ids: list[int], until: datetime) -> int:
    """Move held_until of the seats this hold still owns (the payment extension)."""
    return EventSeat.objects.filter(
        pk__in=seat_ids, hold_id=hold_id, status=EventSeat.Status.HELD
    ).update(held_until=until)


def seats_return(*, hold_id: uuid.UUID, seat_ids: list[int]) -> int:
    """Free the seats this hold still owns; returns how many.

    Only rows still owned by the hold: after expiry a seat may already be
    someone else's, and that hold must keep it.
    """
    return EventSeat.objects.filter(
        pk__in=seat_ids, hold_id=hold_id, status=EventSeat.Status.HELD
    ).update(status=EventSeat.Status.AVAILABLE, hold_id=None, held_until=None)


# The hold's seats move to sold, returning what the tickets need (tier and
# price) and the map order (section, row, number) in the same round trip. A
# seat is still the hold's when hold_id matches and status is 'held', even if
# held_until has passed: nobody else took it (taking it would have changed
# hold_id), so selling it cannot double-sell. The joined seat and tier rows
# are read, not locked; a seat row is locked by the UPDATE.
_SELL_SQL = (
    "UPDATE events_eventseat es SET status = 'sold', order_id = %s, held_until = NULL "
    "FROM events_seat s, events_pricetier t "
    "WHERE es.id = ANY(%s) AND es.hold_id = %s AND es.status = 'held' "
    "AND s.id = es.seat_id AND t.id = es.tier_id "
    "RETURNING es.id, es.tier_id, t.price, s.section_id, s.row_index, s.number"
)


def seats_sell(
    *, hold_id: uuid.UUID, seat_ids: list[int], order_id: int
) -> list[tuple[int, int, Any]] | None:
    """Move the hold's seats to sold for this order, in one statement: the
    sold seats' (id, tier id, tier price) in map order, or None unless all
    moved. On None the caller rolls back (a savepoint), so a partial sale
    never stays."""
    with connection.cursor() as cursor:
        cursor.execute(_SELL_SQL, [order_id, list(seat_ids), hold_id])
        rows = cursor.fetchall()
    if len(rows) != len(seat_ids):
        return None
    rows.sort(key=lambda row: (row[3], row[4], row[5]))
    return [(seat_id, tier_id, price) for seat_id, tier_id, price, *_order in rows]


def seats_unsell(*, order_id: int, seat_ids: Iterable[int]) -> int:
    """Put these seats of this order back on sale (a refund of their tickets:
    a used ticket's seat is never passed, the person is inside). Only rows
    still sold to this order move. Returns how many."""
    return EventSeat.objects.filter(
        pk__in=list(seat_ids), order_id=order_id, status=EventSeat.Status.SOLD
    ).update(status=EventSeat.Status.AVAILABLE, order_id=None, hold_id=None, held_until=None)


# --- allocations -------------------------------------------------------------

# The `quantity` best free, unallocated seats of the scope, locked (SKIP
# LOCKED: a seat a hold is taking right now is not waited for, nor taken),
# tagged with the allocation in the same statement. Only status 'available':
# a lapsed hold's seat may still be sold by its late payment.
# The pick is a CTE, evaluated once: as `WHERE id IN (SELECT … LIMIT n)` the
# planner may rescan the sub-select once per row (a nested loop, chosen by
# the table's statistics), and each rescan, no longer seeing the rows this
# UPDATE has just tagged, picks others: fewer than n matched (seen in the
# full suite, never alone).
_ALLOCATE_SQL = (
    "WITH picked AS ("
    "SELECT es.id FROM events_eventseat es "
    "WHERE es.event_id = %s AND es.section_id = %s AND es.status = 'available' "
    "AND es.allocation_id IS NULL AND (%s::bigint IS NULL OR es.tier_id = %s) "
    "ORDER BY es.quality_rank, es.id LIMIT %s FOR UPDATE OF es SKIP LOCKED) "
    "UPDATE events_eventseat AS es SET allocation_id = %s FROM picked WHERE es.id = picked.id"
)


def seats_allocate(
    *,
    allocation_id: int,
    event_id: int,
    section_id: int,
    tier_id: int | None,
    quantity: int,
) -> int:
    """Tag up to `quantity` free general seats of the section (and tier) with the
    allocation, best first; returns how many. The caller checks the count
    (all or nothing: its transaction rolls back a short allocation).

    From then on only buyers the allocation is open to can take them (USABLE);
    a hold that was taking one of them holds the row lock, so it is skipped.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            _ALLOCATE_SQL,
            [event_id, section_id, tier_id, tier_id, quantity, allocation_id],
        )
        return cursor.rowcount


def seats_allocatable(*, event_id: int, section_id: int, tier_id: int | None) -> int:
    """How many seats seats_allocate could tag now (for a clear error message)."""
    seats = EventSeat.objects.filter(
        event_id=event_id,
        section_id=section_id,
        status=EventSeat.Status.AVAILABLE,
        allocation__isnull=True,
    )
    if tier_id is not None:
        seats = seats.filter(tier_id=tier_id)
    return seats.count()


# --- standing places ---------------------------------------------------------


def standing_lock(*, event_id: int, section_id: int | None) -> StandingArea:
    """Lock the area's row (with its tier, unlocked): the first stock lock a
    standing hold takes, before it expires that area's old holds."""
    return (
        StandingArea.objects.select_for_update(of=("self",))
        .select_related("tier")
        .get(event_id=event_id, section_id=section_id)
    )


_STANDING_LOCK_SQL = """
SELECT a.id, a.event_id, a.section_id, a.tier_id, a.capacity, a.held, a.sold, a.reserved,
       t.name, t.price
FROM events_standingarea a JOIN events_pricetier t ON t.id = a.tier_id
WHERE a.event_id = %s AND a.section_id = %s
FOR UPDATE OF a
"""
# standing_take's conditional UPDATE, for an area that reserves nothing for
# allocations (then every free place is the general sale's).
_STANDING_TAKE_UNRESERVED_SQL = """
UPDATE events_standingarea SET held = held + %s
WHERE event_id = %s AND section_id = %s AND reserved = 0
  AND capacity >= held + sold + reserved + %s
"""
_AREA_FIELDS = ("id", "event_id", "section_id", "tier_id", "capacity", "held", "sold", "reserved")


def standing_lock_and_take(
    *, event_id: int, section_id: int, quantity: int, between: tuple[str, list]
) -> tuple[StandingArea, list[tuple], bool]:
    """standing_lock, then the caller's statement `between` (a read under the
    area's lock: its lapsed holds), then standing_take of `quantity` places
    if the area reserves none: three statements in this order, in one round
    trip. Returns (the locked area with its tier, `between`'s rows, whether
    the places were taken).

    Not taken (False) when they did not fit, or the area reserves places
    (allocations come first: the caller takes through standing_take_allocated
    / standing_take, still under the lock). The caller that then gives
    lapsed holds' places back may try standing_take again.
    """
    sql, params = between
    with connection.cursor() as cursor:
        cursor.execute(
            _STANDING_LOCK_SQL + "; " + sql + "; " + _STANDING_TAKE_UNRESERVED_SQL,
            [event_id, section_id, *params, quantity, event_id, section_id, quantity],
        )
        row = cursor.fetchone()
        if row is None:
            raise StandingArea.DoesNotExist()
        cursor.nextset()
        rows = cursor.fetchall()
        cursor.nextset()
        taken = cursor.rowcount == 1
    area = StandingArea.from_db(connection.alias, _AREA_FIELDS, row[:8])
    # Only the tier's name and price are read: other fields are deferred.
    area.tier = PriceTier.from_db(connection.alias, ("id", "name", "price"), (row[3], *row[8:]))
    return area, rows, taken


def standing_take(*, area_id: int, quantity: int) -> bool:
    """Count `quantity` more places held from the general sale, if they fit;
    True if they did.

    The conditional UPDATE with its row-count check: places reserved for
    allocations are not the general sale's. The DB check constraint
    held + sold + reserved <= capacity is the last line of defence.
    """
    return (
        StandingArea.objects.filter(
            pk=area_id, capacity__gte=F("held") + F("sold") + F("reserved") + quantity
        ).update(held=F("held") + quantity)
        == 1
    )


def standing_allocations_open(
    *, area: StandingArea, channel: str, phase_id: int | None, now: datetime
) -> list[int]:
    """Ids of the area's allocations not released that this buyer may take
    from, oldest first. No query when the locked area reserves nothing (most
    areas): then no allocation has places left to give."""
    if area.reserved == 0:
        return []
    return list(
        Allocation.objects.filter(
            event_id=area.event_id, section_id=area.section_id, released_at__isnull=True
        )
        .filter(Q(release_at__isnull=True) | Q(release_at__gt=now))
        .filter(_open_to_q(channel, phase_id))
        .order_by("created_at", "pk")
        .values_list("pk", flat=True)
    )


def _open_to_q(channel: str, phase_id: int | None) -> Q:
    # USABLE's channel/phase test, for standing allocations.
    q = Q(channel=channel) | Q(phase_id=phase_id)
    if channel.startswith("partner:"):
        q |= Q(channel="partner:*")
    return q


def standing_take_allocated(*, area_id: int, allocation_id: int, quantity: int) -> bool:
    """Hold `quantity` of the allocation's places, if it has them left.

    Caller holds the area row lock (standing_lock): lock order area, then
    allocation, as everywhere here. Two conditional UPDATEs: the
    allocation's counter (held + sold <= quantity, not released), then the
    area's (the places move from reserved to held). If the second fails the
    counters disagree: False, and the caller's transaction rolls both back.
    """
    taken = Allocation.objects.filter(
        pk=allocation_id,
        released_at__isnull=True,
        quantity__gte=F("held") + F("sold") + quantity,
    ).update(held=F("held") + quantity)
    if taken != 1:
        return False
    moved = StandingArea.objects.filter(pk=area_id, reserved__gte=quantity).update(
        held=F("held") + quantity, reserved=F("reserved") - quantity
    )
    return moved == 1


def _back_to_allocation(*, area_id: int, allocation_id: int, quantity: int, counter: str) -> None:
    """Give `quantity` places of the allocation's `counter` (held or sold)
    back to it: reserved again unless it is released (then they are the
    general sale's). The caller moved the area's own counter first (area,
    then allocation: the lock order)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE events_allocation SET {counter} = {counter} - %s "  # noqa: S608
            f"WHERE id = %s AND {counter} >= %s RETURNING released_at IS NULL",
            [quantity, allocation_id, quantity],
        )
        row = cursor.fetchone()
    if row is not None and row[0]:
        StandingArea.objects.filter(pk=area_id).update(reserved=F("reserved") + quantity)


def standing_return(*, area_id: int, quantity: int, allocation_id: int | None = None) -> bool:
    """Give back `quantity` held places (a released, expired or lost hold):
    to its allocation while that is not released, else to the general sale."""
    returned = (
        StandingArea.objects.filter(pk=area_id, held__gte=quantity).update(
            held=F("held") - quantity
        )
        == 1
    )
    if returned and allocation_id is not None:
        _back_to_allocation(
            area_id=area_id, allocation_id=allocation_id, quantity=quantity, counter="held"
        )
    return returned


def standing_sell(
    *, area_id: int, quantity: int, still_held: bool, allocation_id: int | None = None
) -> bool:
    """Move `quantity` places to sold; True if they moved.

    `still_held`: the places are still counted in `held` (the hold is active
    or ordered), so they move from held to sold (in the allocation too).
    Otherwise the hold was expired or released (its places were given back)
    and fresh places must be free: the caller passes allocation_id=None for
    the general sale, or the allocation to take them from again.
    """
    areas = StandingArea.objects.filter(pk=area_id)
    if still_held:
        moved = areas.filter(held__gte=quantity).update(
            held=F("held") - quantity, sold=F("sold") + quantity
        )
        if moved == 1 and allocation_id is not None:
            moved = Allocation.objects.filter(pk=allocation_id, held__gte=quantity).update(
                held=F("held") - quantity, sold=F("sold") + quantity
            )
        return moved == 1
    if allocation_id is None:
        moved = areas.filter(capacity__gte=F("held") + F("sold") + F("reserved") + quantity).update(
            sold=F("sold") + quantity
        )
        return moved == 1
    moved = areas.filter(reserved__gte=quantity).update(
        sold=F("sold") + quantity, reserved=F("reserved") - quantity
    )
    if moved != 1:
        return False
    return (
        Allocation.objects.filter(
            pk=allocation_id,
            released_at__isnull=True,
            quantity__gte=F("held") + F("sold") + quantity,
        ).update(sold=F("sold") + quantity)
        == 1
    )


def standing_unsell(*, area_id: int, quantity: int, allocation_id: int | None = None) -> bool:
    """Put `quantity` sold places back on sale (a refund): to their
    allocation while it is not released, else to the general sale."""
    unsold = (
        StandingArea.objects.filter(pk=area_id, sold__gte=quantity).update(
            sold=F("sold") - quantity
        )
        == 1
    )
    if unsold and allocation_id is not None:
        _back_to_allocation(
            area_id=area_id, allocation_id=allocation_id, quantity=quantity, counter="sold"
        )
    return unsold


def standing_reserve(*, area_id: int, quantity: int) -> bool:
    """Set `quantity` of the area's free general places aside for a new
    allocation (conditional UPDATE); True if they were free."""
    return (
        StandingArea.objects.filter(
            pk=area_id, capacity__gte=F("held") + F("sold") + F("reserved") + quantity
        ).update(reserved=F("reserved") + quantity)
        == 1
    )


def standing_release(*, allocation_id: int, now: datetime) -> int | None:
    """Mark a standing allocation released and give its places not held or
    sold back to the general sale; None if it was released already.

    Caller holds the area row lock (standing_lock); then this one statement
    pair: the allocation's conditional UPDATE (released_at still empty)
    returning what it had left, and the area's reserved minus that.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE events_allocation SET released_at = %s WHERE id = %s "
            "AND released_at IS NULL RETURNING section_id, event_id, quantity - held - sold",
            [now, allocation_id],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    section_id, event_id, left = row
    StandingArea.objects.filter(event_id=event_id, section_id=section_id).update(
        reserved=F("reserved") - left
    )
    return left
