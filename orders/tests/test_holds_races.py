"""Invariants 1, 2 and 4 under real concurrency: threads racing on PostgreSQL."""

from __future__ import annotations

import random
from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone

from events.models import EventSeat, StandingArea
from orders.exceptions import LimitExceeded, NotEnoughSeats, SeatUnavailable
from orders.models import Hold
from orders.services.holds import hold_create
from orders.tests.factories import make_event, race, seat_ids, web_buyer

RACERS = 60

pytestmark = pytest.mark.django_db(transaction=True)


def only(results, *allowed):
    """Every result is a Hold or one of the allowed (expected) refusals; returns the holds."""
    unexpected = [r for r in results if not isinstance(r, (Hold, *allowed))]
    assert unexpected == []
    return [r for r in results if isinstance(r, Hold)]


def take(event, i: int, **stock):
    return hold_create(event=event, buyer=web_buyer(f"r{i}"), **stock)


def assert_seats_consistent(event):
    """No seat in two active holds; every active hold still owns all its seats."""
    active = Hold.objects.filter(event=event, status="active")
    claimed = Counter(s for hold in active for s in hold.seat_ids)
    assert [s for s, n in claimed.items() if n > 1] == []
    for hold in active:
        owned = EventSeat.objects.filter(id__in=hold.seat_ids, hold_id=hold.pk, status="held")
        assert owned.count() == len(hold.seat_ids)


def test_one_seat_many_buyers_exactly_one_winner():
    event = make_event()
    seat = seat_ids(event)[0]
    results = race(RACERS, lambda i: take(event, i, seats=[seat]))
    holds = only(results, SeatUnavailable)
    assert len(holds) == 1
    assert EventSeat.objects.get(pk=seat).hold_id == holds[0].pk


def test_overlapping_seat_sets_all_or_nothing():
    event = make_event(rows=2, per_row=10)
    ids = seat_ids(event)
    picks = [random.Random(i).sample(ids, random.Random(i).randint(1, 4)) for i in range(RACERS)]
    results = race(RACERS, lambda i: take(event, i, seats=picks[i]))
    holds = only(results, SeatUnavailable)
    assert holds
    assert_seats_consistent(event)
    held = EventSeat.objects.filter(event=event, status="held").count()
    assert held == sum(len(h.seat_ids) for h in holds)


def test_best_available_racers_get_disjoint_contiguous_blocks():
    event = make_event(rows=4, per_row=10)
    results = race(
        RACERS,
        lambda i: hold_create(
            event=event, buyer=web_buyer(f"r{i}"), best_available={"quantity": 2 + i % 2}
        ),
    )
    holds = only(results, NotEnoughSeats)
    assert len(holds) >= 10
    assert_seats_consistent(event)
    for hold in holds:
        rows = EventSeat.objects.filter(id__in=hold.seat_ids).values_list(
            "seat__section_id", "seat__row_index", "seat__number"
        )
        assert len({(s, r) for s, r, _ in rows}) == 1  # one row of one section
        numbers = sorted(n for _, _, n in rows)
        assert numbers == list(range(numbers[0], numbers[0] + hold.quantity))


def test_standing_never_over_capacity():
    event = make_event(standing=30)
    section = StandingArea.objects.get(event=event).section_id
    results = race(
        RACERS,
        lambda i: hold_create(
            event=event,
            buyer=web_buyer(f"r{i}"),
            standing={"section": section, "quantity": 1 + i % 3},
        ),
    )
    holds = only(results, NotEnoughSeats)
    area = StandingArea.objects.get(event=event)
    assert area.held == sum(h.quantity for h in holds) <= 30
    assert area.held >= 28  # refusals only once it is (nearly) full


def test_one_buyer_parallel_holds_never_exceed_the_limit():
    event = make_event(rows=12, per_row=10, limit=6)
    ids = seat_ids(event)
    buyer = web_buyer("greedy")
    picks = [ids[2 * i : 2 * i + 1 + i % 2] for i in range(RACERS)]
    results = race(RACERS, lambda i: hold_create(event=event, buyer=buyer, seats=picks[i]))
    holds = only(results, LimitExceeded)
    total = sum(h.quantity for h in holds)
    assert 5 <= total <= 6
    assert EventSeat.objects.filter(event=event, status="held").count() == total


def test_expired_seats_are_won_by_exactly_one_racer_without_a_worker():
    event = make_event()
    ids = seat_ids(event)[:2]
    old = hold_create(event=event, buyer=web_buyer("early"), seats=ids)
    past = timezone.now() - timedelta(seconds=1)
    Hold.objects.filter(pk=old.pk).update(expires_at=past)
    EventSeat.objects.filter(id__in=ids).update(held_until=past)
    results = race(RACERS, lambda i: take(event, i, seats=ids))
    holds = only(results, SeatUnavailable)
    assert len(holds) == 1
    assert set(EventSeat.objects.filter(id__in=ids).values_list("hold_id", flat=True)) == {
        holds[0].pk
    }


def test_expired_standing_places_are_returned_once_under_a_race():
    event = make_event(standing=10)
    section = StandingArea.objects.get(event=event).section_id
    old = hold_create(
        event=event, buyer=web_buyer("early"), standing={"section": section, "quantity": 6}
    )
    Hold.objects.filter(pk=old.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    results = race(
        RACERS,
        lambda i: hold_create(
            event=event, buyer=web_buyer(f"r{i}"), standing={"section": section, "quantity": 1}
        ),
    )
    holds = only(results, NotEnoughSeats)
    old.refresh_from_db()
    assert old.status == "expired"
    assert len(holds) == 10
    assert StandingArea.objects.get(event=event).held == 10
