"""Reads of the cinema side: a city's schedule by date with filters, the
films now showing and one film's showings grouped by cinema and day, a
showing's film panel on the event page, and the seats left per showing —
a bounded number of SQL statements however many showings are shown (one
for the showings, one grouped count for all of their seats), both cached in
Redis.

Caching: the list of a city's showings for a day and filters is kept for
SCHEDULE_TTL under a per-city version that the importer and showing_create
bump on commit, so new showings appear at once; a cancellation or a status
change done elsewhere shows within SCHEDULE_TTL. Seats left per showing are
kept for SEATS_TTL (a sale shows within seconds).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.core.cache import cache
from django.db.models import Prefetch, Q, QuerySet
from django.db.models.functions import ExtractHour
from django.utils import timezone
from django.utils.translation import get_language

from cinema.models import Cinema, City, Film, Showing
from events.models import Event
from events.selectors import PUBLIC_STATUSES, free_seat_counts

SCHEDULE_TTL = 60  # seconds
SEATS_TTL = 10  # seconds
# Local hours [from, to) of each part of the day; night wraps past midnight.
TIMES_OF_DAY = {"morning": (6, 12), "day": (12, 17), "evening": (17, 22), "night": (22, 6)}
WEEK_DAYS = 7


@dataclass(frozen=True)
class Seats:
    """Seats left of one showing, and the marks the schedule shows."""

    available: int
    capacity: int

    @property
    def sold_out(self) -> bool:
        return self.available <= 0

    @property
    def few_left(self) -> bool:
        # "Few seats left": a tenth of the hall or 10 seats, whichever is more.
        return 0 < self.available <= max(10, self.capacity // 10)


@dataclass(frozen=True)
class ScheduleQuery:
    city: City
    day: date
    days: int = 1
    film: str = ""  # film slug
    cinema: str = ""  # cinema slug
    format: str = ""
    language: str = ""
    time_of_day: str = ""

    def key(self) -> str:
        raw = "|".join(
            str(v)
            for v in (
                self.day,
                self.days,
                self.film,
                self.cinema,
                self.format,
                self.language,
                self.time_of_day,
            )
        )
        return hashlib.sha256(raw.encode()).hexdigest()[:24]


def _version_key(city_id: int) -> str:
    return f"cinema:schedule:v:{city_id}"


def schedule_changed(*, city_id: int) -> None:
    """A city's showings changed: its cached schedules are stale (call on commit)."""
    key = _version_key(city_id)
    try:
        cache.incr(key)
    except ValueError:
        cache.set(key, 1, None)


def city_list() -> list[City]:
    return list(City.objects.all())


def city_by_slug(slug: str) -> City | None:
    return City.objects.filter(slug=slug).first()


def city_today(city: City, *, now: datetime | None = None) -> date:
    return (now or timezone.now()).astimezone(ZoneInfo(city.time_zone)).date()


def schedule_showings(query: ScheduleQuery, *, now: datetime | None = None) -> QuerySet[Showing]:
    """The city's showings of the query's days (local dates), not started yet,
    not cancelled, on sale or sold out; soonest first (one indexed range scan
    on (city, starts_at)). Film, cinema and hall come with them."""
    now = now or timezone.now()
    zone = ZoneInfo(query.city.time_zone)
    start = datetime.combine(query.day, time.min, tzinfo=zone)
    end = datetime.combine(query.day + timedelta(days=query.days), time.min, tzinfo=zone)
    qs = (
        Showing.objects.filter(
            city=query.city,
            starts_at__gte=start,
            starts_at__gt=now,
            starts_at__lt=end,
            cancelled=False,
            event__status__in=PUBLIC_STATUSES,
        )
        .select_related("film", "cinema", "hall", "event")
        .order_by("starts_at", "event_id")
    )
    if query.film:
        qs = qs.filter(film__slug=query.film)
    if query.cinema:
        qs = qs.filter(cinema__slug=query.cinema)
    if query.format:
        qs = qs.filter(format=query.format)
    if query.language:
        qs = qs.filter(language=query.language)
    if query.time_of_day:
        low, high = TIMES_OF_DAY[query.time_of_day]
        hour = ExtractHour("starts_at", tzinfo=zone)
        qs = qs.annotate(local_hour=hour)
        if low < high:
            qs = qs.filter(local_hour__gte=low, local_hour__lt=high)
        else:
            qs = qs.filter(Q(local_hour__gte=low) | Q(local_hour__lt=high))
    return qs


def schedule_list(query: ScheduleQuery) -> list[Showing]:
    """schedule_showings as a list, cached under the city's version (see above)."""
    version = cache.get(_version_key(query.city.pk), 0)
    key = f"cinema:schedule:{query.city.pk}:{version}:{query.key()}"
    showings = cache.get(key)
    if showings is None:
        showings = list(schedule_showings(query))
        cache.set(key, showings, SCHEDULE_TTL)
    # A cached list may hold showings that have started since.
    now = timezone.now()
    return [s for s in showings if s.starts_at > now]


def _seats_key(event_id: int) -> str:
    return f"cinema:seats:{event_id}"


def showing_seats(event_ids: list[int]) -> dict[int, Seats]:
    """Seats left per showing: one Redis round trip for the cached ones and one
    grouped query over EventSeat for all the others, however many they are.
    An expired hold counts as available (DESIGN invariant 2)."""
    if not event_ids:
        return {}
    cached = cache.get_many([_seats_key(i) for i in event_ids])
    result = {i: cached[_seats_key(i)] for i in event_ids if _seats_key(i) in cached}
    missing = [i for i in event_ids if i not in result]
    if missing:
        counts = free_seat_counts(event_ids=missing)
        fresh = {i: Seats(free, total) for i, (free, total) in counts.items()}
        fresh.update({i: Seats(0, 0) for i in missing if i not in fresh})
        cache.set_many({_seats_key(i): s for i, s in fresh.items()}, SEATS_TTL)
        result.update(fresh)
    return result


@dataclass
class FilmDay:
    """One film of the schedule page with its showings grouped by cinema."""

    film: Film
    cinemas: list[tuple[Cinema, list[Showing]]]


def schedule_by_film(showings: list[Showing]) -> list[FilmDay]:
    """The page's shape: films in order of their first showing, each with its
    cinemas (in order of their first showing of it) and their showings."""
    films: dict[int, FilmDay] = {}
    slots: dict[tuple[int, int], list[Showing]] = {}
    for showing in showings:
        day = films.get(showing.film_id)
        if day is None:
            day = films[showing.film_id] = FilmDay(film=showing.film, cinemas=[])
        slot = slots.get((showing.film_id, showing.cinema_id))
        if slot is None:
            slot = slots[(showing.film_id, showing.cinema_id)] = []
            day.cinemas.append((showing.cinema, slot))
        slot.append(showing)
    return list(films.values())


def cinema_list(*, city: City | None = None) -> QuerySet[Cinema]:
    qs = Cinema.objects.select_related("city").prefetch_related("halls").order_by("name", "id")
    return qs.filter(city=city) if city else qs


def film_list(*, city: City | None = None, now: datetime | None = None) -> QuerySet[Film]:
    """Films with a showing still to come (in the city, when given)."""
    now = now or timezone.now()
    upcoming = Q(showings__starts_at__gt=now, showings__cancelled=False)
    if city is not None:
        upcoming &= Q(showings__city=city)
    return Film.objects.filter(upcoming).distinct().order_by("title", "id")


def schedule_days(city: City, raw: str, *, now: datetime | None = None) -> tuple[date | None, int]:
    """`today`, `tomorrow`, `week` or YYYY-MM-DD → (first local day, number of days)."""
    today = city_today(city, now=now)
    if raw in ("", "today"):
        return today, 1
    if raw == "tomorrow":
        return today + timedelta(days=1), 1
    if raw == "week":
        return today, WEEK_DAYS
    try:
        return date.fromisoformat(raw), 1
    except ValueError:
        return None, 1


def schedule_api_key(query: ScheduleQuery, full_path: str) -> str:
    """The cache key of one schedule API answer (its query string picks the page)."""
    version = cache.get(_version_key(query.city.pk), 0)
    # The language is part of the answer (film titles, cinema names).
    digest = hashlib.sha256(f"{get_language()}|{full_path}".encode()).hexdigest()[:24]
    return f"cinema:schedule-api:{query.city.pk}:{version}:{digest}"


def schedule_page_key(query: ScheduleQuery, language: str) -> str:
    """The cache key of the schedule page's rendered showings."""
    version = cache.get(_version_key(query.city.pk), 0)
    return f"cinema:schedule-page:{query.city.pk}:{version}:{language}:{query.key()}"


def cinema_ids_of_partner(partner_id: int) -> set[int]:
    """The cinemas whose schedule this partner's keys may import."""
    return set(Cinema.objects.filter(schedule_partner_id=partner_id).values_list("pk", flat=True))


def schedule_choices(city: City) -> tuple[list[Film], list[Cinema]]:
    """The page's film and cinema choices for a city (cached like the schedule)."""
    version = cache.get(_version_key(city.pk), 0)
    key = f"cinema:schedule-choices:{city.pk}:{version}"
    choices = cache.get(key)
    if choices is None:
        choices = (
            list(film_list(city=city)),
            list(Cinema.objects.filter(city=city).order_by("name", "id")),
        )
        cache.set(key, choices, SCHEDULE_TTL)
    return choices


# How far ahead a film page lists showings.
SCHEDULE_DAYS = 14


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
        return Seats(self.free, self.total).few_left


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
    counts = showing_seats([s.pk for s in showings])
    by_cinema: dict[int, CinemaDays] = {}
    for showing in showings:
        local = showing.starts_at.astimezone(ZoneInfo(showing.cinema.time_zone))
        seats = counts.get(showing.pk) or Seats(0, 0)
        free, total = seats.available, seats.capacity
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
