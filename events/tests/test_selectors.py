from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation

from events.models import Event, EventSeat, Section, StandingArea
from events.selectors import (
    event_availability,
    event_availability_forget,
    event_detail,
    event_list_public,
    phase_status,
    section_seats,
)
from events.tests.factories import make_event


def _flip(seat: EventSeat, status: str, *, minutes: int = 5) -> None:
    fields: dict = {"status": status}
    if status == "held":
        until = timezone.now() + timedelta(minutes=minutes)
        fields |= {"hold_id": uuid.uuid4(), "held_until": until}
    EventSeat.objects.filter(pk=seat.pk).update(**fields)


def _truth(event) -> dict:
    """Availability counted the slow way, seat by seat."""
    now = timezone.now()
    counts: dict = {}
    for seat in EventSeat.objects.filter(event=event):
        free = seat.status == "available" or (seat.status == "held" and seat.held_until < now)
        counts[seat.section_id] = counts.get(seat.section_id, 0) + free
    for area in StandingArea.objects.filter(event=event):
        counts[area.section_id] = area.capacity - area.held - area.sold
    return counts


def test_availability_matches_inventory_after_holds_sales_and_blocks(small_event):
    grid = Section.objects.get(venue=small_event.venue, code="G")
    arc = Section.objects.get(venue=small_event.venue, code="A")
    g = list(EventSeat.objects.filter(section=grid).order_by("pk"))
    a = list(EventSeat.objects.filter(section=arc).order_by("pk"))
    _flip(g[0], "held")  # live hold: taken
    _flip(g[1], "held", minutes=-1)  # expired hold: free again
    _flip(g[2], "sold")
    _flip(g[3], "blocked")
    for seat in a:  # the whole arc sold out
        _flip(seat, "sold")
    StandingArea.objects.filter(event=small_event).update(held=7, sold=10)

    result = event_availability(event=small_event)
    sections = result["sections"]
    assert {k: v["available"] for k, v in sections.items()} == _truth(small_event)
    assert sections[grid.pk]["available"] == 12 - 3
    assert sections[arc.pk]["available"] == 0 and sections[arc.pk]["min_price"] is None
    assert sections[grid.pk]["min_price"] == Decimal("30000.00")
    tiers = {t.key: t.pk for t in small_event.tiers.all()}
    assert result["tiers"][tiers["floor"]] == {"available": 33, "price": Decimal("20000.00")}
    assert result["tiers"][tiers["back"]]["available"] == 0
    assert result["total"] == 9 + 0 + 33


def test_availability_takes_two_queries_then_comes_from_cache(small_event):
    with CaptureQueriesContext(connection) as first:
        event_availability(event=small_event)
    assert len(first) == 2  # one grouped EventSeat query + the standing areas
    EventSeat.objects.filter(event=small_event).update(status="sold")
    with CaptureQueriesContext(connection) as second:
        cached = event_availability(event=small_event)
    assert len(second) == 0 and cached["total"] == 73  # stale for up to a second
    event_availability_forget(event_id=small_event.pk)
    assert event_availability(event=small_event)["total"] == 50


def test_section_seats_show_expired_holds_as_available(small_event):
    grid = Section.objects.get(venue=small_event.venue, code="G")
    seats = list(EventSeat.objects.filter(section=grid).order_by("pk"))
    _flip(seats[0], "held", minutes=-1)
    _flip(seats[1], "held")
    _flip(seats[2], "sold")
    rows = section_seats(event=small_event, section_id=grid.pk)
    assert len(rows) == 12
    by_id = {r[0]: r for r in rows}
    assert by_id[seats[0].pk][6] == "available"
    assert by_id[seats[1].pk][6] == "held"
    assert by_id[seats[2].pk][6] == "sold"
    first = rows[0]
    assert first[1:5] == ["1", 1, 80.0, 40.0] and first[5] == seats[0].tier_id


def test_public_list_and_detail_hide_drafts_and_past_events(small_event):
    draft = make_event(venue=small_event.venue, slug="draft", status=Event.Status.DRAFT)
    past = make_event(venue=small_event.venue, slug="past")
    Event.objects.filter(pk=past.pk).update(starts_at=timezone.now() - timedelta(days=1))
    assert list(event_list_public()) == [small_event]
    assert event_detail("small-show") == small_event
    from events.exceptions import EventNotFound

    with pytest.raises(EventNotFound):
        event_detail(draft.slug)


@pytest.mark.parametrize(
    ("channel", "hours", "state", "text"),
    [
        ("partner:halyk", 0, "on_sale", "until"),
        ("web", 0, "presale", "partner"),
        ("partner:other", 0, "presale", "partner"),
        ("web", 30, "on_sale", "until"),
        ("partner:other", 30, "on_sale", "until"),
        ("web", -5, "not_yet", ""),
        ("web", 24 * 31, "ended", ""),
    ],
)
def test_phase_status_per_channel_and_time(small_event, channel, hours, state, text):
    event = event_detail(small_event.slug)
    with translation.override("en"):
        at = timezone.now() + timedelta(hours=hours)
        status = phase_status(event=event, channel=channel, at=at)
    assert status.state == state
    assert text in status.message.lower()
    assert status.can_buy == (state == "on_sale")


def test_phase_status_sold_out_when_nothing_is_left(small_event):
    EventSeat.objects.filter(event=small_event).update(status="sold")
    StandingArea.objects.filter(event=small_event).update(sold=50)
    status = phase_status(event=event_detail(small_event.slug), channel="partner:halyk")
    assert status.state == "sold_out"


def test_phase_status_message_uses_the_event_time_zone(small_event):
    event = event_detail(small_event.slug)
    presale = event.phases.all()[0]
    status = phase_status(event=event, channel="web")
    local = timezone.localtime(presale.ends_at, timezone.get_fixed_timezone(300))
    assert local.strftime("%H:%M") in status.message


def test_phase_status_is_translated(small_event):
    event = event_detail(small_event.slug)
    with translation.override("ru"):
        message = phase_status(event=event, channel="web").message
    assert "Предпродажа для клиентов партнёра" in message
