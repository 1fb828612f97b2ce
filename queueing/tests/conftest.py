from __future__ import annotations

import datetime as dt
import itertools

import pytest
from django.utils import timezone

from events.models import Event, EventSeat, PriceTier, SalePhase, Seat, Section, StandingArea, Venue
from queueing import selectors, services

_seq = itertools.count()


@pytest.fixture(autouse=True)
def _forget_lookups():
    selectors._memo.clear()
    yield
    selectors._memo.clear()


def make_event(*, seats: int = 10, standing: int = 0, guarded_limit: int = 4) -> Event:
    n = next(_seq)
    venue = Venue.objects.create(name=f"Arena {n}", slug=f"arena-{n}")
    now = timezone.now()
    event = Event.objects.create(
        venue=venue, title=f"Show {n}", slug=f"show-{n}", starts_at=now + dt.timedelta(days=10)
    )
    tier = PriceTier.objects.create(event=event, name="A", price="10000.00")
    section = Section.objects.create(venue=venue, code="A", name="A")
    for i in range(seats):
        seat = Seat.objects.create(section=section, row_label="1", row_index=1, number=i + 1,
                                   x=i, y=0)  # fmt: skip
        EventSeat.objects.create(event=event, seat=seat, section=section, tier=tier)
    if standing:
        floor = Section.objects.create(venue=venue, code="F", name="Floor", kind="standing",
                                       capacity=standing)  # fmt: skip
        StandingArea.objects.create(event=event, section=floor, tier=tier, capacity=standing)
    SalePhase.objects.create(event=event, name="Presale", starts_at=now - dt.timedelta(hours=1),
                             ends_at=now + dt.timedelta(days=1), channels=["web"],
                             per_buyer_limit=guarded_limit, requires_waiting_room=True)  # fmt: skip
    return event


def make_room(event: Event | None = None, **fields):
    """A room whose Redis state is built (what room_create's on_commit does)."""
    event = event or make_event()
    fields.setdefault(
        "sale_opens_at", timezone.now().replace(microsecond=0) - dt.timedelta(minutes=1)
    )
    room = services.room_create(event=event, **fields)
    services.room_push(room=room)
    return room


@pytest.fixture
def event(db):
    return make_event()


@pytest.fixture
def room(db, event):
    return make_room(event, admission_rate_per_minute=60, max_active_shoppers=5)
