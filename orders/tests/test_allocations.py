"""Channel allocations (events.Allocation): seats reserved for one channel or
one sale phase, taken through the holds service, released to the general sale
by time or by hand. The racing proofs are in test_allocations_races.py."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.selectors import Buyer
from events import stock
from events.exceptions import AllocationInvalid
from events.models import Allocation, EventSeat, SalePhase, Section, StandingArea
from events.selectors import (
    allocation_use,
    event_availability,
    event_availability_forget,
    section_seats,
)
from events.services import allocation_check, allocation_create, allocation_release
from events.tasks import release_due_allocations
from orders.exceptions import NotEnoughSeats, SeatUnavailable
from orders.models import HoldStanding
from orders.services.holds import hold_create, hold_release
from orders.tests.factories import make_event, web_buyer
from ticketing.models import AuditEntry

pytestmark = pytest.mark.django_db


def bank(name: str = "c1") -> Buyer:
    return Buyer(channel="partner:bank", key=f"partner:bank:{name}")


def seated(event) -> Section:
    return Section.objects.get(venue=event.venue, kind=Section.Kind.SEATED)


def allocate(event, quantity: int, **kwargs) -> Allocation:
    kwargs.setdefault("channel", "partner:bank")
    return allocation_create(
        event=event, name="Bank presale", section=seated(event), quantity=quantity, **kwargs
    )


def allocated_ids(allocation) -> list[int]:
    return sorted(allocation.seats.values_list("pk", flat=True))


def test_create_reserves_the_best_free_seats_and_is_audited(event):
    allocation = allocate(event, 5)
    seats = EventSeat.objects.filter(allocation=allocation)
    assert seats.count() == 5
    # The best seats (row 1, centre first) go to the allocation.
    best = EventSeat.objects.filter(event=event).order_by("seat__quality_rank", "pk")[:5]
    assert set(seats) == set(best)
    entry = AuditEntry.objects.get(action="allocation.created", object_id=str(allocation.pk))
    assert entry.data["quantity"] == 5
    assert entry.data["channel"] == "partner:bank"


def test_create_refuses_more_than_the_free_stock_and_writes_nothing(event):
    hold_create(event=event, buyer=web_buyer(), best_available={"quantity": 6})
    free = EventSeat.objects.filter(event=event, status="available").count()
    with pytest.raises(AllocationInvalid) as caught:
        allocate(event, free + 1)
    assert str(free) in str(caught.value.details["quantity"][0])
    assert not Allocation.objects.exists()
    assert not EventSeat.objects.filter(allocation__isnull=False).exists()
    allocate(event, free)  # exactly the free seats is fine
    assert EventSeat.objects.filter(allocation__isnull=False).count() == free


def test_seats_of_one_allocation_are_not_allocated_again(event):
    total = EventSeat.objects.filter(event=event).count()
    allocate(event, total - 3)
    with pytest.raises(AllocationInvalid):
        allocate(event, 4, channel="app")
    allocate(event, 3, channel="app")
    assert not EventSeat.objects.filter(event=event, allocation__isnull=True).exists()


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"channel": ""}, "channel"),
        ({"channel": "partner:Bad Slug"}, "channel"),
        ({"channel": "telegram"}, "channel"),
        ({"quantity": 0}, "quantity"),
        ({"release_at": "past"}, "release_at"),
        ({"section": "standing", "quantity": 51}, "quantity"),
        ({"section": "foreign"}, "section"),
        ({"phase": "own", "channel": "web"}, "channel"),
        ({"phase": "foreign", "channel": ""}, "phase"),
    ],
)
def test_check_names_the_field_that_is_wrong(event, changes, field):
    other = make_event()
    request = {
        "event": event,
        "section": seated(event),
        "quantity": 2,
        "channel": "partner:bank",
        "phase": None,
    }
    for key, value in changes.items():
        if key == "release_at":
            value = timezone.now() - timedelta(minutes=1)
        elif key == "section":
            kind = Section.Kind.STANDING if value == "standing" else Section.Kind.SEATED
            venue = event.venue if value == "standing" else other.venue
            value = Section.objects.get(venue=venue, kind=kind)
        elif key == "phase":
            value = SalePhase.objects.filter(event=event if value == "own" else other).first()
        request[key] = value
    errors = allocation_check(**request)
    assert list(errors) == [field]
    with pytest.raises(AllocationInvalid):
        allocation_create(name="x", **request)


def test_only_the_allocations_channel_may_take_its_seats(event):
    allocation = allocate(event, 4)
    seat = allocated_ids(allocation)[0]
    with pytest.raises(SeatUnavailable) as caught:
        hold_create(event=event, buyer=web_buyer(), seats=[seat])
    assert caught.value.details["seats"] == [seat]
    other_partner = Buyer(channel="partner:other", key="partner:other:c1")
    with pytest.raises(SeatUnavailable):
        hold_create(event=event, buyer=other_partner, seats=[seat])
    hold = hold_create(event=event, buyer=bank(), seats=[seat])
    assert EventSeat.objects.get(pk=seat).hold_id == hold.pk


def test_the_allocation_channel_may_also_take_general_seats(event):
    allocation = allocate(event, 4)
    general = EventSeat.objects.filter(event=event, allocation__isnull=True).first()
    mixed = [general.pk, allocated_ids(allocation)[0]]
    hold = hold_create(event=event, buyer=bank(), seats=mixed)
    assert sorted(hold.seat_ids) == sorted(mixed)


def test_any_partner_allocation_is_open_to_every_partner_but_not_the_web(event):
    allocation = allocate(event, 2, channel="partner:*")
    seat = allocated_ids(allocation)[0]
    with pytest.raises(SeatUnavailable):
        hold_create(event=event, buyer=web_buyer(), seats=[seat])
    hold_create(event=event, buyer=Buyer(channel="partner:other", key="p:o:1"), seats=[seat])


def test_best_available_of_the_web_never_picks_allocated_seats(event):
    total = EventSeat.objects.filter(event=event).count()
    allocation = allocate(event, total - 2)  # 2 general seats left, side by side
    hold = hold_create(event=event, buyer=web_buyer("a"), best_available={"quantity": 2})
    assert not set(hold.seat_ids) & set(allocated_ids(allocation))
    with pytest.raises(NotEnoughSeats):
        hold_create(event=event, buyer=web_buyer("b"), best_available={"quantity": 1})
    # The bank's customers get the allocation's best seats.
    mine = hold_create(event=event, buyer=bank(), best_available={"quantity": 2})
    assert set(mine.seat_ids) <= set(allocated_ids(allocation))


def test_a_phase_allocation_is_for_buyers_in_that_phase(db):
    now = timezone.now()
    event = make_event(channels=("web",))
    general = SalePhase.objects.get(event=event)
    members = SalePhase.objects.create(
        event=event,
        name="Members",
        starts_at=now - timedelta(hours=2),
        ends_at=now + timedelta(hours=2),
        channels=["partner:bank"],
    )
    allocation = allocate(event, 3, channel="", phase=members)
    seat = allocated_ids(allocation)[0]
    with pytest.raises(SeatUnavailable):
        hold_create(event=event, buyer=web_buyer(), seats=[seat])
    hold = hold_create(event=event, buyer=bank(), seats=[seat])
    assert hold.phase_id == members.pk != general.pk


def test_release_by_hand_gives_what_is_left_to_the_general_sale_once(event):
    allocation = allocate(event, 4)
    seats = allocated_ids(allocation)
    hold_create(event=event, buyer=bank(), seats=seats[:1])
    assert allocation_release(allocation=allocation, actor_name="staff:test") is True
    assert allocation_release(allocation=allocation) is False  # idempotent
    entries = AuditEntry.objects.filter(action="allocation.released", object_id=str(allocation.pk))
    assert entries.count() == 1
    assert entries.get().data["left_to_general"] == 3
    hold = hold_create(event=event, buyer=web_buyer(), seats=seats[1:3])
    assert sorted(hold.seat_ids) == seats[1:3]
    allocation.refresh_from_db()
    assert allocation.released_at is not None


def test_release_time_is_exact_without_the_task_which_then_stamps_it(event):
    allocation = allocate(event, 2, release_at=timezone.now() + timedelta(minutes=5))
    seat = allocated_ids(allocation)[0]
    with pytest.raises(SeatUnavailable):
        hold_create(event=event, buyer=web_buyer(), seats=[seat])
    Allocation.objects.filter(pk=allocation.pk).update(
        release_at=timezone.now() - timedelta(seconds=1)
    )
    hold_create(event=event, buyer=web_buyer(), seats=[seat])  # no task ran
    assert release_due_allocations() == 1
    assert release_due_allocations() == 0
    allocation.refresh_from_db()
    assert allocation.released_at is not None
    entry = AuditEntry.objects.get(action="allocation.released", object_id=str(allocation.pk))
    assert entry.actor == "system:beat"


def test_availability_counts_an_allocation_only_for_its_channel(event):
    section = seated(event)
    before = event_availability(event=event, channel="web")["sections"][section.pk]["available"]
    allocation = allocate(event, 5)
    event_availability_forget(event_id=event.pk)
    web = event_availability(event=event, channel="web")
    assert web["sections"][section.pk]["available"] == before - 5
    assert event_availability(event=event, channel="partner:bank")["total"] == web["total"] + 5
    assert event_availability(event=event)["total"] == web["total"]  # general only
    allocation_release(allocation=allocation)
    event_availability_forget(event_id=event.pk)
    assert event_availability(event=event, channel="web")["sections"][section.pk]["available"] == (
        before
    )


def test_the_seat_map_shows_other_channels_allocated_seats_as_blocked(event):
    allocation = allocate(event, 3)
    mine = set(allocated_ids(allocation))
    web = {row[0]: row[6] for row in section_seats(event=event, section_id=seated(event).pk)}
    assert {web[s] for s in mine} == {"blocked"}
    assert {status for pk, status in web.items() if pk not in mine} == {"available"}
    seats = section_seats(event=event, section_id=seated(event).pk, channel="partner:bank")
    assert {row[6] for row in seats} == {"available"}


def test_availability_api_answers_per_channel(event, client):
    allocate(event, 5)
    body = client.get(f"/api/v1/events/{event.slug}/availability/").json()
    assert body["available"] == EventSeat.objects.filter(event=event).count() - 5 + 50


def test_use_counts_sold_held_and_left_live(event):
    allocation = allocate(event, 4)
    seats = allocated_ids(allocation)
    hold_create(event=event, buyer=bank("a"), seats=seats[:2])
    EventSeat.objects.filter(pk=seats[2]).update(status="sold", order_id=1)
    (use,) = allocation_use(event=event)
    assert (use.sold, use.held, use.left, use.released) == (1, 2, 1, False)
    EventSeat.objects.filter(pk__in=seats[:2]).update(held_until=timezone.now() - timedelta(1))
    (use,) = allocation_use(event=event)
    assert (use.held, use.left) == (0, 3)  # a lapsed hold's seats are free again


# --- standing places -----------------------------------------------------------


def floor(event) -> Section:
    return Section.objects.get(venue=event.venue, kind=Section.Kind.STANDING)


def allocate_floor(event, quantity: int, **kwargs) -> Allocation:
    kwargs.setdefault("channel", "partner:bank")
    return allocation_create(
        event=event, name="Bank floor", section=floor(event), quantity=quantity, **kwargs
    )


def area(event) -> StandingArea:
    return StandingArea.objects.get(event=event)


def standing(event, buyer, quantity: int):
    return hold_create(
        event=event, buyer=buyer, standing={"section": floor(event).pk, "quantity": quantity}
    )


def test_standing_places_of_an_allocation_are_only_its_channels(event):
    allocation = allocate_floor(event, 20)  # of 50
    assert (area(event).reserved, area(event).available) == (20, 30)
    for i in range(5):
        standing(event, web_buyer(f"w{i}"), 6)
    with pytest.raises(NotEnoughSeats):
        standing(event, web_buyer("late"), 1)
    hold = standing(event, bank("a"), 6)
    line = HoldStanding.objects.get(hold=hold)
    assert line.allocation_id == allocation.pk
    allocation.refresh_from_db()
    assert (allocation.held, area(event).reserved, area(event).held) == (6, 14, 36)


def test_standing_partner_falls_back_to_the_general_sale(event):
    allocation = allocate_floor(event, 4)
    first = standing(event, bank("a"), 4)
    second = standing(event, bank("b"), 3)  # the allocation is used up: general places
    lines = {h.pk: HoldStanding.objects.get(hold=h).allocation_id for h in (first, second)}
    assert lines == {first.pk: allocation.pk, second.pk: None}
    assert (area(event).held, area(event).reserved) == (7, 0)


def test_standing_places_go_back_to_their_allocation_until_it_is_released(event):
    allocation = allocate_floor(event, 10)
    hold = standing(event, bank("a"), 4)
    hold_release(hold=hold)
    allocation.refresh_from_db()
    assert (allocation.held, area(event).reserved, area(event).held) == (0, 10, 0)
    held = standing(event, bank("b"), 3)
    assert allocation_release(allocation=allocation) is True
    assert allocation_release(allocation=allocation) is False
    assert (area(event).reserved, area(event).available) == (0, 47)
    entry = AuditEntry.objects.get(action="allocation.released")
    assert entry.data["left_to_general"] == 7
    hold_release(hold=held)  # after the release: back to the general sale
    allocation.refresh_from_db()
    assert (allocation.held, area(event).reserved, area(event).available) == (0, 0, 50)


def test_standing_sale_and_refund_move_the_allocations_counters(event):
    allocation = allocate_floor(event, 10)
    a = area(event)
    standing(event, bank("a"), 4)
    assert stock.standing_sell(
        area_id=a.pk, quantity=4, still_held=True, allocation_id=allocation.pk
    )
    allocation.refresh_from_db()
    a.refresh_from_db()
    assert (allocation.held, allocation.sold, a.held, a.sold, a.reserved) == (0, 4, 0, 4, 6)
    assert stock.standing_unsell(area_id=a.pk, quantity=1, allocation_id=allocation.pk)
    allocation.refresh_from_db()
    a.refresh_from_db()
    assert (allocation.sold, a.sold, a.reserved) == (3, 3, 7)


def test_a_due_standing_allocation_is_released_by_the_next_standing_hold(event):
    allocation = allocate_floor(event, 50, release_at=timezone.now() + timedelta(minutes=5))
    with pytest.raises(NotEnoughSeats):
        standing(event, web_buyer(), 2)
    Allocation.objects.filter(pk=allocation.pk).update(
        release_at=timezone.now() - timedelta(seconds=1)
    )
    standing(event, web_buyer(), 2)  # no task ran
    allocation.refresh_from_db()
    assert allocation.released_at is not None
    entry = AuditEntry.objects.get(action="allocation.released")
    assert entry.actor == "system:hold_create"
    assert release_due_allocations() == 0


def test_standing_availability_counts_the_allocation_for_its_channel_only(event):
    allocate_floor(event, 20)
    event_availability_forget(event_id=event.pk)
    section = floor(event).pk
    assert event_availability(event=event, channel="web")["sections"][section]["available"] == 30
    bank_view = event_availability(event=event, channel="partner:bank")
    assert bank_view["sections"][section]["available"] == 50


def test_standing_allocation_use_for_the_console(event):
    allocation = allocate_floor(event, 10)
    standing(event, bank("a"), 4)
    (use,) = allocation_use(event=event)
    assert (use.sold, use.held, use.left) == (0, 4, 6)
    allocation_release(allocation=allocation)
    (use,) = allocation_use(event=event)
    assert (use.held, use.left, use.released) == (4, 0, True)


def test_a_late_payment_of_an_expired_standing_hold_takes_from_its_allocation_else_general(event):
    from orders.holdkinds import Standing
    from orders.models import Hold
    from orders.services.holds import holds_expire

    allocation = allocate_floor(event, 4)
    first = standing(event, bank("a"), 3)
    second = standing(event, bank("b"), 1)
    Hold.objects.filter(pk__in=[first.pk, second.pk]).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert holds_expire() == 2
    allocation.refresh_from_db()
    assert (allocation.held, area(event).reserved) == (0, 4)  # back to the allocation
    standing(event, bank("c"), 2)  # the allocation has 2 left now
    first.refresh_from_db()
    assert Standing.sell(None, first) is True  # 3 > 2 left: from the general sale
    assert HoldStanding.objects.get(hold=first).allocation_id is None
    second.refresh_from_db()
    assert Standing.sell(None, second) is True  # 1 of the allocation's 2 left
    assert HoldStanding.objects.get(hold=second).allocation_id == allocation.pk
    allocation.refresh_from_db()
    a = area(event)
    assert (allocation.held, allocation.sold) == (2, 1)
    assert (a.held, a.sold, a.reserved) == (2, 4, 1)
