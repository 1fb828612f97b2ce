"""What the cinema catalogue hears of its showings' events (events.hooks),
inside the transaction that changes them: a showing is an Event, and staff
may cancel or move it where they handle any event (the admin's "Cancel
event…", the sale console, event_update). The schedule's copy of the event
(Showing.cancelled, starts_at, ends_at) follows in the same transaction, and
the city's cached schedules are dropped once it commits."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import transaction

from cinema.models import Showing
from cinema.selectors import schedule_changed
from events.hooks import EVENT_CANCELLED, EVENT_CHANGED


def showing_follows_its_event(*, kind: str, event: Any, details: dict, **_: Any) -> None:
    showing = Showing.objects.filter(pk=event.pk).select_related("film").first()
    if showing is None:  # a concert, not a showing
        return
    if kind == EVENT_CANCELLED:
        Showing.objects.filter(pk=showing.pk).update(cancelled=True)
    elif kind == EVENT_CHANGED and "starts_at" in details:
        starts_at = event.starts_at
        Showing.objects.filter(pk=showing.pk).update(
            starts_at=starts_at,
            ends_at=starts_at + timedelta(minutes=showing.film.duration_minutes),
        )
    else:
        return
    city_id = showing.city_id
    transaction.on_commit(lambda: schedule_changed(city_id=city_id))
