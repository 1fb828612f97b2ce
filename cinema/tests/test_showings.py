from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from cinema.factories import DEFAULT_PRICES, hall_make, showing_make
from events.exceptions import InventoryTierMissing
from events.models import Event, EventSeat, Seat

pytestmark = pytest.mark.django_db


def test_a_showing_is_an_event_priced_by_seat_kind():
    hall = hall_make(rows=4, per_row=6)
    start = timezone.now() + timedelta(hours=5)
    showing = showing_make(hall=hall, starts_at=start)
    event = showing.event
    assert event.venue_id == hall.venue_id
    assert event.production_id == showing.film.production_id
    assert event.hold_minutes == hall.cinema.hold_minutes
    assert event.refund_cutoff_minutes == hall.cinema.refund_cutoff_minutes
    assert event.status == Event.Status.ON_SALE
    assert EventSeat.objects.filter(event=event).count() == 24
    for row in EventSeat.objects.filter(event=event).select_related("seat", "tier"):
        assert row.tier.key == row.seat.kind
        assert row.tier.price == DEFAULT_PRICES[row.seat.kind]
    phase = event.phases.get()
    assert phase.is_open() and phase.ends_at == start
    assert not phase.is_open(start)
    assert showing.ends_at - showing.starts_at == timedelta(minutes=showing.film.duration_minutes)
    child = event.ticket_types.get(key="child")
    assert child.prices.get(tier__key=Seat.Kind.STANDARD).price == Decimal("1500.00")
    love = Seat.objects.filter(section__venue=hall.venue, kind="love")
    assert {s.pair_id for s in love} == {s.pk for s in love}


def test_a_seat_kind_without_a_price_writes_nothing():
    hall = hall_make(code="2", rows=2, per_row=4)
    prices = {k: v for k, v in DEFAULT_PRICES.items() if k != Seat.Kind.LOVE}
    before = Event.objects.count()
    with pytest.raises(InventoryTierMissing):
        showing_make(hall=hall, prices=prices)
    assert Event.objects.count() == before
