"""Channel allocations under real concurrency (threads racing on PostgreSQL):
an allocation is never oversold, the general sale never takes allocated seats
before the release, and a seat is never counted twice."""

from __future__ import annotations

import random
from collections import Counter

import pytest
from django.db import connection

from accounts.selectors import Buyer
from events.exceptions import AllocationInvalid
from events.models import Allocation, EventSeat, Section, StandingArea
from events.services import allocation_create, allocation_release, allocations_release_due
from orders.exceptions import NotEnoughSeats, SeatUnavailable
from orders.models import Hold, HoldStanding
from orders.services.holds import hold_create, hold_release
from orders.tests.factories import make_event, race, web_buyer
from ticketing.models import AuditEntry

pytestmark = pytest.mark.django_db(transaction=True)

RACERS = 48
PARTNER = "partner:bank"

# Plain SQL, trusting none of the code it checks: seats of an allocation that
# is not released, held by a live hold or sold, for a buyer whose channel or
# phase the allocation is not open to.
_FOREIGN_TAKES = """
SELECT count(*) FROM events_eventseat s
JOIN events_allocation a ON a.id = s.allocation_id
JOIN orders_hold h ON h.id = s.hold_id
WHERE s.event_id = %s AND a.released_at IS NULL AND a.release_at IS NULL
  AND (s.status = 'sold' OR (s.status = 'held' AND s.held_until > now()))
  AND NOT (a.channel = h.channel OR (a.channel = 'partner:*' AND h.channel LIKE 'partner:%%')
           OR a.phase_id = h.phase_id)
"""


def partner(i: int) -> Buyer:
    return Buyer(channel=PARTNER, key=f"{PARTNER}:c{i}")


def allocate(event, quantity: int) -> Allocation:
    section = Section.objects.get(venue=event.venue, kind=Section.Kind.SEATED)
    return allocation_create(
        event=event, name="Bank", channel=PARTNER, section=section, quantity=quantity
    )


def sell_directly(seat_ids) -> None:
    """Seats already sold before the race (the state late in a sale)."""
    EventSeat.objects.filter(pk__in=list(seat_ids)).update(status="sold", order_id=1)


def audit(event, allocation: Allocation) -> dict[str, int]:
    """The counts every race below must keep: see each key."""
    live = Hold.objects.filter(event=event, status="active")
    claimed = Counter(s for hold in live for s in hold.seat_ids)
    taken = EventSeat.objects.filter(event=event, status__in=["held", "sold"])
    with connection.cursor() as cursor:
        cursor.execute(_FOREIGN_TAKES, [event.pk])
        (foreign,) = cursor.fetchone()
    not_owned = sum(
        len(h.seat_ids)
        - EventSeat.objects.filter(id__in=h.seat_ids, hold_id=h.pk, status="held").count()
        for h in live
    )
    return {
        # One seat in two live holds: counted twice.
        "doubled": sum(1 for n in claimed.values() if n > 1),
        # A live hold that does not own all its seats.
        "not_owned": not_owned,
        # The allocation's seats held or sold beyond its size.
        "over_allocation": max(
            taken.filter(allocation=allocation).count() - allocation.quantity, 0
        ),
        # Held and sold beyond the event's seats, and holds' seats beyond what is marked.
        "over_total": max(taken.count() - EventSeat.objects.filter(event=event).count(), 0),
        "holds_vs_seats": abs(
            sum(len(h.seat_ids) for h in live)
            - EventSeat.objects.filter(event=event, status="held").count()
        ),
        # General-channel buyers holding or owning allocated stock before the release.
        "foreign": foreign,
    }


CLEAN = {
    "doubled": 0,
    "not_owned": 0,
    "over_allocation": 0,
    "over_total": 0,
    "holds_vs_seats": 0,
    "foreign": 0,
}


def test_an_allocation_is_never_oversold_while_both_channels_race_for_its_last_seats():
    event = make_event(rows=4, per_row=10)
    allocation = allocate(event, 12)
    mine = list(allocation.seats.order_by("pk").values_list("pk", flat=True))
    general = list(
        EventSeat.objects.filter(event=event, allocation__isnull=True)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    # Late in the sale: 3 seats left in the allocation, 3 in the general pool.
    sell_directly(mine[:9] + general[:25])
    last = mine[9:] + general[25:]
    rng = random.Random(19)
    picks = [rng.sample(last, rng.randint(1, 2)) for _ in range(RACERS)]

    def work(i: int):
        buyer = partner(i) if i % 2 else web_buyer(f"w{i}")
        if i % 4 < 2:  # half of each channel asks for best available, half chooses seats
            return hold_create(event=event, buyer=buyer, best_available={"quantity": 1})
        return hold_create(event=event, buyer=buyer, seats=picks[i])

    results = race(RACERS, work)
    unexpected = [r for r in results if not isinstance(r, Hold | SeatUnavailable | NotEnoughSeats)]
    assert unexpected == []
    holds = [r for r in results if isinstance(r, Hold)]
    assert audit(event, allocation) == CLEAN
    web_seats = {s for h in holds if h.channel == "web" for s in h.seat_ids}
    assert web_seats <= set(general[25:])  # the web never took an allocated seat
    partner_seats = {s for h in holds if h.channel == PARTNER for s in h.seat_ids}
    # The bank's customers raced for the allocation's last seats too and won them all
    # (24 of them asking, 12 by best available, which always tries the allocation first).
    assert set(mine[9:]) <= partner_seats
    assert EventSeat.objects.filter(allocation=allocation, status="held").count() == 3


def test_a_release_racing_buyers_and_the_task_releases_once_and_counts_no_seat_twice():
    event = make_event(rows=2, per_row=10)
    allocation = allocate(event, 10)
    general = EventSeat.objects.filter(event=event, allocation__isnull=True)
    sell_directly(general.values_list("pk", flat=True)[:8])

    def work(i: int):
        if i == 0:
            return allocation_release(allocation=allocation, actor_name="staff:console")
        if i == 1:
            Allocation.objects.filter(pk=allocation.pk).update(release_at=allocation.created_at)
            return allocations_release_due()
        buyer = partner(i) if i % 3 == 0 else web_buyer(f"w{i}")
        return hold_create(event=event, buyer=buyer, best_available={"quantity": 1 + i % 2})

    results = race(RACERS, work)
    unexpected = [
        r for r in results[2:] if not isinstance(r, Hold | SeatUnavailable | NotEnoughSeats)
    ]
    assert unexpected == []
    assert results[0] in (True, False) and results[1] in (0, 1)
    assert int(results[0]) + results[1] == 1  # the button or the task, never both
    allocation.refresh_from_db()
    assert allocation.released_at is not None
    assert (
        AuditEntry.objects.filter(
            action="allocation.released", object_id=str(allocation.pk)
        ).count()
        == 1
    )
    found = audit(event, allocation)
    found.pop("foreign")  # released: everyone may take what is left
    assert found == {k: v for k, v in CLEAN.items() if k != "foreign"}


def test_allocating_while_the_web_buys_never_tags_a_seat_a_buyer_took():
    event = make_event(rows=4, per_row=10)
    section = Section.objects.get(venue=event.venue, kind=Section.Kind.SEATED)
    free = EventSeat.objects.filter(event=event).count()

    def work(i: int):
        if i == 0:
            # All of the free stock, as counted before the race: buyers take
            # some meanwhile, so either they lost those seats to nobody (the
            # allocation comes out short and is refused whole) or it fits.
            return allocation_create(
                event=event, name="Bank", channel=PARTNER, section=section, quantity=free - 10
            )
        return hold_create(event=event, buyer=web_buyer(f"w{i}"), best_available={"quantity": 1})

    results = race(RACERS, work)
    assert isinstance(results[0], Allocation | AllocationInvalid)
    tagged = EventSeat.objects.filter(event=event, allocation__isnull=False)
    if isinstance(results[0], AllocationInvalid):
        assert not tagged.exists() and not Allocation.objects.exists()
    else:
        assert tagged.count() == free - 10
        allocation = results[0]
        assert audit(event, allocation) == CLEAN
    # No web hold owns an allocated seat, whoever won each row.
    web_holds = Hold.objects.filter(event=event, status="active", channel="web")
    web_seats = {s for h in web_holds for s in h.seat_ids}
    assert not web_seats & set(tagged.values_list("pk", flat=True))


# --- standing places -----------------------------------------------------------


def allocate_floor(event, quantity: int) -> Allocation:
    section = Section.objects.get(venue=event.venue, kind=Section.Kind.STANDING)
    return allocation_create(
        event=event, name="Bank floor", channel=PARTNER, section=section, quantity=quantity
    )


def standing_audit(event, allocation: Allocation) -> dict[str, int]:
    """Counters against the live holds' lines: each place in exactly one counter."""
    area = StandingArea.objects.get(event=event)
    allocation.refresh_from_db()
    lines = HoldStanding.objects.filter(hold__event=event, hold__status="active")
    from_allocation = sum(lines.filter(allocation=allocation).values_list("quantity", flat=True))
    general = sum(lines.filter(allocation__isnull=True).values_list("quantity", flat=True))
    web_allocated = lines.filter(hold__channel="web", allocation__isnull=False).count()
    left = 0 if allocation.released_at else allocation.quantity - allocation.held - allocation.sold
    return {
        "over_capacity": max(area.held + area.sold + area.reserved - area.capacity, 0),
        "over_allocation": max(allocation.held + allocation.sold - allocation.quantity, 0),
        "allocation_vs_lines": abs(allocation.held - from_allocation),
        "general_vs_lines": abs(area.held - allocation.held - general),
        "reserved_vs_left": abs(area.reserved - left),
        "web_on_allocation": web_allocated,
    }


STANDING_CLEAN = dict.fromkeys(
    [
        "over_capacity",
        "over_allocation",
        "allocation_vs_lines",
        "general_vs_lines",
        "reserved_vs_left",
        "web_on_allocation",
    ],
    0,
)


def test_a_standing_allocation_is_never_oversold_while_both_channels_race_for_its_last_places():
    event = make_event(standing=30)
    allocation = allocate_floor(event, 12)
    section = allocation.section_id

    def work(i: int):
        # Partners ask for one place each (so the allocation's 12 go to the first
        # 12 of them), the web for one to three.
        buyer, quantity = (partner(i), 1) if i % 2 else (web_buyer(f"w{i}"), 1 + i % 3)
        return hold_create(
            event=event, buyer=buyer, standing={"section": section, "quantity": quantity}
        )

    results = race(RACERS, work)
    assert [r for r in results if not isinstance(r, Hold | NotEnoughSeats)] == []
    assert standing_audit(event, allocation) == STANDING_CLEAN
    assert allocation.held == 12  # every allocated place went to the bank's customers
    web = HoldStanding.objects.filter(hold__channel="web", hold__status="active")
    assert sum(web.values_list("quantity", flat=True)) <= 30 - 12


def test_a_standing_release_racing_both_channels_counts_every_place_once():
    event = make_event(standing=40)
    allocation = allocate_floor(event, 20)
    section = allocation.section_id

    def work(i: int):
        if i == 0:
            return allocation_release(allocation=allocation, actor_name="staff:console")
        buyer = partner(i) if i % 2 else web_buyer(f"w{i}")
        hold = hold_create(
            event=event, buyer=buyer, standing={"section": section, "quantity": 1 + i % 2}
        )
        if i % 5 == 0:  # some give their places back while the release happens
            hold_release(hold=hold)
        return hold

    results = race(RACERS, work)
    assert results[0] is True
    assert [r for r in results[1:] if not isinstance(r, Hold | NotEnoughSeats)] == []
    found = standing_audit(event, allocation)
    found.pop("web_on_allocation")  # released mid-race: the web may follow
    assert found == {k: v for k, v in STANDING_CLEAN.items() if k != "web_on_allocation"}
    assert StandingArea.objects.get(event=event).reserved == 0
