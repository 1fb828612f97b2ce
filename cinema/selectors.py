"""Reads of the cinema catalogue for buyers: the films now showing, one film
with its upcoming showings grouped by cinema and day, and a showing's film
panel on the event page. Each a fixed handful of queries, whatever the
number of showings."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from cinema.models import Cinema, Film, Showing
from events.models import Event
from events.selectors import PUBLIC_STATUSES, free_seat_counts

# How far ahead a film page lists showings.
SCHEDULE_DAYS = 14
# "Few seats left": at most this share of the hall free (and at least one seat).
FEW_SEATS_SHARE = 0.15


def _upcoming(now: datetime) -> QuerySet[Showing]:
    # A showing sells until its cinema's close minutes after the start (at most
    # an hour, Cinema.sales_close_minutes): those filtered out in Python.
    return Showing.objects.filter(
        cancelled=False,
        event__status__in=PUBLIC_STATUSES,
        starts_at__gt=now - timedelta(hours=1),
        starts_at__lt=now + timedelta(days=SCHEDULE_DAYS),
    )


def films_showing(*, now: datetime | None = None) -> list[Film]:
    """Films with a showing on sale in the next SCHEDULE_DAYS, by title (2 queries)."""
    now = now or timezone.now()
    ids = _upcoming(now).values("film_id")
    return list(Film.objects.filter(pk__in=ids).prefetch_related("genres").order_by("title", "pk"))


def film_detail(slug: str) -> Film | None:
    return Film.objects.filter(slug=slug).prefetch_related("genres").first()


@dataclass
class ShowingSlot:
    showing: Showing
    local_start: datetime
    free: int
    total: int
    closed: bool

    @property
    def sold_out(self) -> bool:
        return self.free <= 0

    @property
    def few_left(self) -> bool:
        return 0 < self.free <= max(1, int(self.total * FEW_SEATS_SHARE))


@dataclass
class CinemaDays:
    cinema: Cinema
    days: list[tuple[date, list[ShowingSlot]]] = field(default_factory=list)


def film_schedule(*, film: Film, now: datetime | None = None) -> list[CinemaDays]:
    """The film's upcoming showings, grouped by cinema (by name) then by the
    cinema's local day, in time order; with free seats per showing. Two
    queries: the showings (with cinema and hall), one grouped count of seats."""
    now = now or timezone.now()
    showings = list(
        _upcoming(now)
        .filter(film=film)
        .select_related("cinema", "hall", "event")
        .order_by("starts_at", "pk")
    )
    showings = [
        s for s in showings if s.starts_at + timedelta(minutes=s.cinema.sales_close_minutes) > now
    ]
    counts = free_seat_counts(event_ids=[s.pk for s in showings], now=now)
    by_cinema: dict[int, CinemaDays] = {}
    for showing in showings:
        local = showing.starts_at.astimezone(ZoneInfo(showing.cinema.time_zone))
        free, total = counts.get(showing.pk, (0, 0))
        slot = ShowingSlot(
            showing=showing,
            local_start=local,
            free=free,
            total=total,
            closed=showing.event.status == Event.Status.SOLD_OUT,
        )
        entry = by_cinema.setdefault(showing.cinema_id, CinemaDays(cinema=showing.cinema))
        if entry.days and entry.days[-1][0] == local.date():
            entry.days[-1][1].append(slot)
        else:
            entry.days.append((local.date(), [slot]))
    return sorted(by_cinema.values(), key=lambda c: (c.cinema.localized_name, c.cinema.pk))


def showing_of_event(event: Event) -> Showing | None:
    """The showing an event is, with film, genres, hall and cinema (2 queries; 1 if none)."""
    return (
        Showing.objects.filter(pk=event.pk)
        .select_related("film", "hall", "cinema")
        .prefetch_related(Prefetch("film__genres"))
        .first()
    )
