"""A showing's rules: its holds last the cinema's minutes (Event.hold_minutes,
read off the sale snapshot), other events the site's; its sale runs until
the phase closes after the start, and then the page says sales have ended."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from cinema.factories import cinema_make, hall_make, showing_make
from events.models import Event, EventSeat, SalePhase
from events.selectors import event_detail, phase_status
from orders.services.holds import hold_create
from orders.tests.factories import seat_ids, web_buyer

pytestmark = pytest.mark.django_db


def test_a_showing_holds_seats_for_its_cinemas_minutes(settings, event):
    settings.HOLD_MINUTES = 7
    cinema = cinema_make(slug="kino12", hold_minutes=12)
    showing = showing_make(hall=hall_make(cinema=cinema, rows=2, per_row=4))
    seat = EventSeat.objects.filter(event=showing.event, seat__kind="standard").first()
    before = timezone.now()
    hold = hold_create(event=showing.event, buyer=web_buyer(), seats=[seat.pk])
    assert (
        timedelta(minutes=11, seconds=55)
        < hold.expires_at - before
        < timedelta(minutes=12, seconds=5)
    )
    plain = hold_create(event=event, buyer=web_buyer("bob"), seats=seat_ids(event)[:1])
    assert plain.expires_at - before < timedelta(minutes=7, seconds=5)


def test_sales_stay_open_until_the_cinemas_close_after_the_start_then_end():
    cinema = cinema_make(slug="late10", sales_close_minutes=10)
    start = timezone.now() - timedelta(minutes=5)
    showing = showing_make(
        hall=hall_make(cinema=cinema, rows=2, per_row=4),
        starts_at=start,
        now=start - timedelta(hours=2),
    )
    event = event_detail(showing.event.slug)
    assert phase_status(event=event, channel="web").state == "on_sale"
    seat = EventSeat.objects.filter(event=showing.event, seat__kind="standard").first()
    assert hold_create(event=showing.event, buyer=web_buyer(), seats=[seat.pk])
    later = start + timedelta(minutes=11)
    status = phase_status(event=event, channel="web", at=later)
    assert status.state == "ended" and status.message == "Продажи завершены."
    assert SalePhase.objects.get(event=showing.event).ends_at == start + timedelta(minutes=10)
    assert Event.objects.get(pk=showing.pk).status == Event.Status.ON_SALE
