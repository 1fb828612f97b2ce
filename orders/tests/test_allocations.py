"""Channel allocations (events.Allocation): seats reserved for one channel or
one sale phase, taken through the holds service, released to the general sale
by time or by hand. The racing proofs are in test_allocations_races.py."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.selectors import Buyer
from events.exceptions import AllocationInvalid
from events.models import Allocation, EventSeat, SalePhase, Section
from events.selectors import (
    allocation_use,
    event_availability,
    event_availability_forget,
    section_seats,
)
from events.services import allocation_check, allocation_create, allocation_release
from events.tasks import release_due_allocations
from orders.exceptions import NotEnoughSeats, SeatUnavailable
from orders.services.holds import hold_create
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
        ({"section": "standing"}, "section"),
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
