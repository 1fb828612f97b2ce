"""Builders for queueing's tests: a guarded event (through events.factories) and its room."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from events.factories import event_build
from events.models import Event
from queueing import services


def make_event(*, seats: int = 10, standing: int = 0, guarded_limit: int = 4) -> Event:
    """A draft event with one row of `seats` seats (and a standing floor when asked) and
    one web presale open now that requires the waiting room, `guarded_limit` a buyer."""
    return event_build(
        seats=seats,
        per_row=max(seats, 1),
        standing=standing,
        tier_name="A",
        section_name="A",
        standing_name="Floor",
        status=Event.Status.DRAFT,
        starts_in=dt.timedelta(days=10),
        phase_name="Presale",
        channels=["web"],
        per_buyer_limit=guarded_limit,
        requires_waiting_room=True,
    )


def make_room(event: Event | None = None, **fields):
    """A room whose Redis state is built (what room_create's on_commit does)."""
    event = event or make_event()
    fields.setdefault(
        "sale_opens_at", timezone.now().replace(microsecond=0) - dt.timedelta(minutes=1)
    )
    room = services.room_create(event=event, **fields)
    services.room_push(room=room)
    return room
