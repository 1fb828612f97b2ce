"""Schedule import: a week of showings of many cinemas in one go (the import
part of the cinema services, split out of services.py for size).

The same lines come from a CSV upload (staff page) or JSON (the cinema's own
system, API scope `schedule`). Policy, chosen so that nothing is ever
half-imported and a big file is still quick:

1. Every line is checked first, against the file and the database (unknown
   cinema/hall/film, bad time, bad or missing price, duplicates, overlaps with
   other lines and with existing showings, counting the hall's turnaround).
   Any error → ScheduleInvalid with every message, each naming its line, and
   nothing is written.
2. Then each cinema is written in its own transaction (its halls locked, the
   overlap check repeated under the lock, then multi-row INSERTs for events,
   tiers, ticket types, phases and showings and one INSERT … SELECT for the
   seats). A cinema whose halls changed between the check and the write (a
   showing added by someone else meanwhile) is rolled back whole and reported
   in `failed`; the other cinemas stay imported. So a cinema is imported
   completely or not at all, and a file without errors is imported completely
   unless someone races it.

Rows are built by the same showing_* helpers as cinema.services.showing_create,
so a showing is defined once.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cinema.exceptions import ScheduleInvalid
from cinema.models import Cinema, Film, Hall, Showing
from cinema.selectors import schedule_changed
from cinema.services import (
    TicketTypeSpec,
    showing_event,
    showing_phase,
    showing_row,
    showing_slug,
    showing_ticket_types,
    showing_tiers,
    showing_type_prices,
)
from events.models import Event, PriceTier, SalePhase, Seat, TicketType, TicketTypePrice
from events.services import events_inventory_create_by_kind

MAX_LINES = 20_000
MAX_PRICE = Decimal("9999999999.99")
MAX_AHEAD = timedelta(days=2 * 366)
# The ticket types a schedule line may price (besides the seat kind's own
# price, which is what an adult pays). Their names are what buyers read.
TICKET_TYPES = {
    "adult": TicketTypeSpec(key="adult", name="Взрослый", name_kk="Ересек", name_en="Adult"),
    "child": TicketTypeSpec(key="child", name="Детский", name_kk="Балалар", name_en="Child"),
    "student": TicketTypeSpec(
        key="student",
        name="Студенческий",
        name_kk="Студенттік",
        name_en="Student",
        requires_document=True,
    ),
    "senior": TicketTypeSpec(
        key="senior",
        name="Пенсионный",
        name_kk="Зейнеткерлік",
        name_en="Senior",
        requires_document=True,
    ),
}
PRICED_TYPES = [key for key in TICKET_TYPES if key != "adult"]
KINDS = list(Seat.Kind.values)
BASE_COLUMNS = ["cinema", "hall", "film", "start", "format", "language", "subtitles"]
REQUIRED_COLUMNS = ["cinema", "hall", "film", "start"]


@dataclass
class ScheduleLine:
    """One line as given: strings, checked by schedule_check."""

    line: int
    cinema: str = ""
    hall: str = ""
    film: str = ""
    start: str = ""
    format: str = ""
    language: str = ""
    subtitles: str = ""
    prices: dict[str, str] = field(default_factory=dict)  # seat kind → price
    type_prices: dict[str, dict[str, str]] = field(default_factory=dict)  # type → kind → price


@dataclass
class PlannedShowing:
    line: int
    hall: Hall
    film: Film
    starts_at: datetime
    ends_at: datetime
    format: str
    language: str
    subtitles: str
    prices: dict[str, Decimal]
    ticket_types: list[TicketTypeSpec]


@dataclass
class ScheduleReport:
    created: int = 0
    seats: int = 0
    by_cinema: dict[str, dict[str, int]] = field(default_factory=dict)
    failed: dict[str, list[str]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "created": self.created,
            "seats": self.seats,
            "by_cinema": self.by_cinema,
            "failed": self.failed,
        }


class _Errors:
    def __init__(self) -> None:
        self.by_key: dict[str, list[str]] = {}

    def add(self, line: int | None, message: str) -> None:
        key = "file" if line is None else f"line {line}"
        self.by_key.setdefault(key, []).append(message)

    def has(self, line: int) -> bool:
        return f"line {line}" in self.by_key

    def raise_any(self) -> None:
        if self.by_key:
            raise ScheduleInvalid(details=self.by_key)


# --- input ------------------------------------------------------------------


def schedule_lines_from_csv(text: str) -> list[ScheduleLine]:
    """Lines of a CSV schedule (comma or semicolon separated, header first).

    Columns: cinema, hall, film, start, format, language, subtitles, then
    `price_<seat kind>` (price_standard, price_vip, …) and `<type>_<seat kind>`
    for ticket types (child_standard, student_vip, …). Line numbers count the
    header as line 1, as a spreadsheet shows them. Raises ScheduleInvalid for
    a missing or unknown column.
    """
    text = text.lstrip("\ufeff")
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    header = [h.strip().lower() for h in next(reader, [])]
    errors = _Errors()
    columns: list[tuple[str, str, str]] = []  # (what, type, kind) per column
    for name in header:
        if name in BASE_COLUMNS:
            columns.append((name, "", ""))
        elif name.startswith("price_") and name[6:] in KINDS:
            columns.append(("price", "", name[6:]))
        elif (
            "_" in name and name.split("_", 1)[0] in PRICED_TYPES and name.split("_", 1)[1] in KINDS
        ):
            type_key, kind = name.split("_", 1)
            columns.append(("type", type_key, kind))
        else:
            errors.add(None, _('Unknown column "%(column)s".') % {"column": name})
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        errors.add(None, _("Missing columns: %(columns)s.") % {"columns": ", ".join(missing)})
    errors.raise_any()
    lines = []
    for number, row in enumerate(reader, start=2):
        if not any(cell.strip() for cell in row):
            continue
        item = ScheduleLine(line=number)
        for (what, type_key, kind), value in zip(columns, row, strict=False):
            value = value.strip()
            if what == "price":
                if value:
                    item.prices[kind] = value
            elif what == "type":
                if value:
                    item.type_prices.setdefault(type_key, {})[kind] = value
            else:
                setattr(item, what, value)
        if len(row) > len(columns):
            errors.add(
                number, _("Line %(line)d has more cells than the header.") % {"line": number}
            )
        lines.append(item)
    errors.raise_any()
    return lines


def schedule_lines_from_rows(rows: list[Any]) -> list[ScheduleLine]:
    """Lines of a JSON schedule: a list of objects {cinema, hall, film, start,
    format?, language?, subtitles?, prices: {kind: price}, ticket_types?:
    {type: {kind: price}}}. Line N is the N-th object (from 1)."""
    errors = _Errors()
    lines = []
    for number, row in enumerate(rows, start=1):
        if not isinstance(row, dict):
            errors.add(number, _("Line %(line)d is not an object.") % {"line": number})
            continue
        item = ScheduleLine(line=number)
        for name in BASE_COLUMNS:
            value = row.get(name, "")
            item.__dict__[name] = "" if value is None else str(value).strip()
        prices = row.get("prices")
        prices = {} if prices is None else prices
        types = row.get("ticket_types")
        types = {} if types is None else types
        if not isinstance(prices, dict) or not isinstance(types, dict):
            errors.add(number, _("Line %(line)d: prices must be objects.") % {"line": number})
            continue
        for kind, value in prices.items():
            if kind not in KINDS:
                errors.add(
                    number,
                    _('Line %(line)d: unknown seat kind "%(kind)s".')
                    % {"line": number, "kind": kind},
                )
            item.prices[kind] = str(value).strip()
        for type_key, by_kind in types.items():
            if type_key not in PRICED_TYPES:
                errors.add(
                    number,
                    _('Line %(line)d: unknown ticket type "%(type)s".')
                    % {"line": number, "type": type_key},
                )
                continue
            if not isinstance(by_kind, dict):
                errors.add(number, _("Line %(line)d: prices must be objects.") % {"line": number})
                continue
            for kind, value in by_kind.items():
                if kind not in KINDS:
                    errors.add(
                        number,
                        _('Line %(line)d: unknown seat kind "%(kind)s".')
                        % {"line": number, "kind": kind},
                    )
                item.type_prices.setdefault(type_key, {})[kind] = str(value).strip()
        lines.append(item)
    errors.raise_any()
    return lines


# --- checks -----------------------------------------------------------------


def _parse_start(value: str, zone: ZoneInfo) -> datetime | None:
    value = value.strip()
    moment = None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        try:
            moment = datetime.strptime(value, "%d.%m.%Y %H:%M")  # noqa: DTZ007 - local, zoned below
        except ValueError:
            return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment


def _parse_price(value: str) -> Decimal | None:
    cleaned = value.replace("\u00a0", "").replace(" ", "")
    if "," in cleaned and "." not in cleaned:
        cleaned = cleaned.replace(",", ".")
    try:
        price = Decimal(cleaned)
    except InvalidOperation:
        return None
    if not price.is_finite() or price.as_tuple().exponent < -2 or abs(price) > MAX_PRICE:
        return None
    return price.quantize(Decimal("0.01"))


def _check_price(errors: _Errors, line: int, what: str, raw: str) -> Decimal | None:
    price = _parse_price(raw)
    if price is None:
        errors.add(
            line,
            _('Line %(line)d: %(what)s "%(value)s" is not an amount of money.')
            % {"line": line, "what": what, "value": raw},
        )
    elif price < 0:
        errors.add(
            line, _("Line %(line)d: %(what)s must not be negative.") % {"line": line, "what": what}
        )
        return None
    return price


def _choice(errors: _Errors, line: int, value: str, choices, *, label: str, default: str) -> str:
    value = value.strip().lower()
    if not value:
        return default
    if value not in choices.values:
        errors.add(
            line,
            _('Line %(line)d: unknown %(what)s "%(value)s" (one of: %(choices)s).')
            % {"line": line, "what": label, "value": value, "choices": ", ".join(choices.values)},
        )
    return value


def _local(moment: datetime, hall: Hall) -> str:
    return f"{moment.astimezone(ZoneInfo(hall.cinema.time_zone)):%Y-%m-%d %H:%M}"


def _hall_kinds(halls: list[Hall]) -> dict[int, set[str]]:
    kinds: dict[int, set[str]] = defaultdict(set)
    rows = (
        Seat.objects.filter(section__venue_id__in=[h.venue_id for h in halls])
        .values_list("section__venue_id", "kind")
        .distinct()
    )
    for venue_id, kind in rows:
        kinds[venue_id].add(kind)
    return kinds


def _line_plan(
    item: ScheduleLine,
    *,
    errors: _Errors,
    cinemas: dict[str, Cinema],
    halls: dict[tuple[int, str], Hall],
    films: dict[str, Film],
    kinds_of: dict[int, set[str]],
    allowed: set[int] | None,
    now: datetime,
) -> PlannedShowing | None:
    n = item.line
    for name in REQUIRED_COLUMNS:
        if not getattr(item, name):
            errors.add(n, _("Line %(line)d: %(column)s is empty.") % {"line": n, "column": name})
    if errors.has(n):
        return None
    cinema = cinemas.get(item.cinema)
    film = films.get(item.film)
    hall = halls.get((cinema.pk, item.hall)) if cinema else None
    if cinema is None:
        errors.add(
            n, _('Line %(line)d: unknown cinema "%(cinema)s".') % {"line": n, "cinema": item.cinema}
        )
    elif allowed is not None and cinema.pk not in allowed:
        errors.add(
            n,
            _('Line %(line)d: you may not import the schedule of cinema "%(cinema)s".')
            % {"line": n, "cinema": item.cinema},
        )
    elif hall is None:
        errors.add(
            n,
            _('Line %(line)d: cinema "%(cinema)s" has no hall "%(hall)s".')
            % {"line": n, "cinema": item.cinema, "hall": item.hall},
        )
    if film is None:
        errors.add(n, _('Line %(line)d: unknown film "%(film)s".') % {"line": n, "film": item.film})
    starts_at = None
    if cinema is not None:
        starts_at = _parse_start(item.start, ZoneInfo(cinema.time_zone))
        if starts_at is not None and starts_at > now + MAX_AHEAD:
            starts_at = None  # year 9999 is a typo, and would overflow the end time
        if starts_at is None:
            errors.add(
                n,
                _(
                    'Line %(line)d: bad start time "%(value)s"; write it as '
                    "YYYY-MM-DD HH:MM, the cinema's local time."
                )
                % {"line": n, "value": item.start},
            )
        elif starts_at <= now:
            errors.add(
                n,
                _("Line %(line)d: the start %(value)s is in the past.")
                % {"line": n, "value": item.start},
            )
    fmt = _choice(errors, n, item.format, Showing.Format, label="format", default="2d")
    language = _choice(errors, n, item.language, Showing.Language, label="language", default="ru")
    subtitles = _choice(errors, n, item.subtitles, Showing.Language, label="subtitles", default="")
    prices: dict[str, Decimal] = {}
    hall_kinds = kinds_of.get(hall.venue_id, set()) if hall else set()
    for kind, raw in item.prices.items():
        price = _check_price(errors, n, f"price_{kind}", raw)
        if price is not None and (hall is None or kind in hall_kinds):
            prices[kind] = price
    if hall is not None:
        for kind in sorted(hall_kinds - set(item.prices)):
            errors.add(
                n,
                _(
                    'Line %(line)d: no price for the %(kind)s seats of hall "%(hall)s" '
                    "(price_%(kind)s)."
                )
                % {"line": n, "kind": kind, "hall": hall.code},
            )
    types: list[TicketTypeSpec] = []
    for type_key, by_kind in item.type_prices.items():
        spec = TICKET_TYPES[type_key]
        type_prices = {}
        for kind, raw in by_kind.items():
            price = _check_price(errors, n, f"{type_key}_{kind}", raw)
            if price is not None and kind in hall_kinds:
                type_prices[kind] = price
        types.append(TicketTypeSpec(**{**spec.__dict__, "prices": type_prices}))
    if errors.has(n) or hall is None or film is None or starts_at is None:
        return None
    if types:
        types.insert(0, TICKET_TYPES["adult"])
    return PlannedShowing(
        line=n,
        hall=hall,
        film=film,
        starts_at=starts_at,
        ends_at=Showing.end_of(starts_at, film),
        format=fmt,
        language=language,
        subtitles=subtitles,
        prices=prices,
        ticket_types=types,
    )


def _existing(plans: list[PlannedShowing]) -> dict[int, list[Showing]]:
    """Live showings of the plans' halls around the plans' times (one query)."""
    if not plans:
        return {}
    slack = timedelta(hours=24)
    rows = Showing.objects.filter(
        hall_id__in={p.hall.pk for p in plans},
        cancelled=False,
        starts_at__lt=max(p.ends_at for p in plans) + slack,
        ends_at__gt=min(p.starts_at for p in plans) - slack,
    ).select_related("film")
    by_hall: dict[int, list[Showing]] = defaultdict(list)
    for showing in rows:
        by_hall[showing.hall_id].append(showing)
    return by_hall


def _check_halls(
    plans: list[PlannedShowing], existing: dict[int, list[Showing]], errors: _Errors
) -> None:
    """Duplicates and overlaps (with the hall's turnaround) among the lines and
    with the showings already scheduled."""
    by_hall: dict[int, list[PlannedShowing]] = defaultdict(list)
    for plan in plans:
        by_hall[plan.hall.pk].append(plan)
    for hall_plans in by_hall.values():
        hall = hall_plans[0].hall
        turn = timedelta(minutes=hall.turnaround_minutes)
        seen: dict[datetime, PlannedShowing] = {}
        kept: list[PlannedShowing] = []
        for plan in hall_plans:
            if (first := seen.get(plan.starts_at)) is not None and first.film == plan.film:
                errors.add(
                    plan.line,
                    _("Line %(line)d repeats line %(other)d (same hall, film and start).")
                    % {"line": plan.line, "other": first.line},
                )
                continue
            seen.setdefault(plan.starts_at, plan)
            kept.append(plan)
        kept.sort(key=lambda p: (p.starts_at, p.line))
        for earlier, later in pairwise(kept):
            if later.starts_at < earlier.ends_at + turn:
                _overlap(
                    errors,
                    later,
                    hall=hall,
                    other_line=earlier.line,
                    other_start=earlier.starts_at,
                    other_end=earlier.ends_at,
                )
        for plan in kept:
            for showing in existing.get(hall.pk, []):
                if showing.starts_at == plan.starts_at and showing.film_id == plan.film.pk:
                    errors.add(
                        plan.line,
                        _("Line %(line)d: this showing is already in the schedule.")
                        % {"line": plan.line},
                    )
                elif showing.starts_at <= plan.starts_at < showing.ends_at + turn:
                    _overlap(
                        errors,
                        plan,
                        hall=hall,
                        other_line=None,
                        other_start=showing.starts_at,
                        other_end=showing.ends_at,
                    )
                elif plan.starts_at < showing.starts_at < plan.ends_at + turn:
                    errors.add(
                        plan.line,
                        _(
                            "Line %(line)d: the film lasts %(minutes)d minutes; with the hall's "
                            '%(turnaround)d-minute turnaround hall "%(hall)s" is needed until '
                            "%(until)s, but the next showing starts at %(next)s."
                        )
                        % {
                            "line": plan.line,
                            "minutes": plan.film.duration_minutes,
                            "turnaround": hall.turnaround_minutes,
                            "hall": hall.code,
                            "until": _local(plan.ends_at + turn, hall),
                            "next": _local(showing.starts_at, hall),
                        },
                    )


def _overlap(errors, plan, *, hall, other_line, other_start, other_end) -> None:
    turn = timedelta(minutes=hall.turnaround_minutes)
    other = (_("line %(line)d") % {"line": other_line}) if other_line else _("an existing showing")
    if plan.starts_at < other_end:
        errors.add(
            plan.line,
            _('Line %(line)d: overlaps %(other)s in hall "%(hall)s" (%(start)s to %(end)s).')
            % {
                "line": plan.line,
                "other": other,
                "hall": hall.code,
                "start": _local(other_start, hall),
                "end": _local(other_end, hall),
            },
        )
    else:
        errors.add(
            plan.line,
            _(
                'Line %(line)d: starts at %(start)s, but hall "%(hall)s" needs %(turnaround)d '
                "minutes after %(other)s ends at %(end)s (free from %(free)s)."
            )
            % {
                "line": plan.line,
                "start": _local(plan.starts_at, hall),
                "hall": hall.code,
                "turnaround": hall.turnaround_minutes,
                "other": other,
                "end": _local(other_end, hall),
                "free": _local(other_end + turn, hall),
            },
        )


def schedule_check(
    *,
    lines: list[ScheduleLine],
    allowed_cinemas: set[int] | None = None,
    now: datetime | None = None,
) -> list[PlannedShowing]:
    """Check every line (a bounded number of queries, whatever the size) and
    return the plans; raise ScheduleInvalid with every line's messages.

    `allowed_cinemas`: the cinema ids the caller may import for (None: any).
    """
    now = now or timezone.now()
    errors = _Errors()
    if not lines:
        errors.add(None, _("The schedule has no lines."))
    if len(lines) > MAX_LINES:
        errors.add(None, _("At most %(max)d lines per file.") % {"max": MAX_LINES})
    errors.raise_any()
    cinemas = {c.slug: c for c in Cinema.objects.filter(slug__in={i.cinema for i in lines})}
    hall_rows = Hall.objects.filter(cinema__in=cinemas.values()).select_related("cinema")
    halls = {(h.cinema_id, h.code): h for h in hall_rows}
    films = {f.slug: f for f in Film.objects.filter(slug__in={i.film for i in lines})}
    kinds_of = _hall_kinds(list(halls.values()))
    plans = []
    for item in lines:
        plan = _line_plan(
            item,
            errors=errors,
            cinemas=cinemas,
            halls=halls,
            films=films,
            kinds_of=kinds_of,
            allowed=allowed_cinemas,
            now=now,
        )
        if plan is not None:
            plans.append(plan)
    _check_halls(plans, _existing(plans), errors)
    slugs = {showing_slug(hall=p.hall, film=p.film, starts_at=p.starts_at): p for p in plans}
    for slug in Event.objects.filter(slug__in=list(slugs)).values_list("slug", flat=True):
        plan = slugs[slug]
        if not errors.has(plan.line):
            errors.add(
                plan.line,
                _(
                    "Line %(line)d: a showing of this film in this hall at this "
                    "time already exists (it may be cancelled)."
                )
                % {"line": plan.line},
            )
    errors.raise_any()
    return plans


# --- writes -----------------------------------------------------------------


def showings_write(*, plans: list[PlannedShowing], now: datetime) -> int:
    """Checked showings written in bulk in the caller's transaction (one cinema
    of an import, or the demo's week); returns seats created."""
    events = Event.objects.bulk_create(
        [showing_event(hall=p.hall, film=p.film, starts_at=p.starts_at) for p in plans],
        batch_size=1000,
    )
    tiers_of = [showing_tiers(event=e, prices=p.prices) for e, p in zip(events, plans, strict=True)]
    all_tiers = PriceTier.objects.bulk_create(
        [t for tiers in tiers_of for t in tiers.values()], batch_size=2000
    )
    types_of = [
        showing_ticket_types(event=e, ticket_types=p.ticket_types)
        for e, p in zip(events, plans, strict=True)
    ]
    TicketType.objects.bulk_create([t for types in types_of for t in types], batch_size=2000)
    TicketTypePrice.objects.bulk_create(
        [
            price
            for types, plan, tiers in zip(types_of, plans, tiers_of, strict=True)
            for price in showing_type_prices(types=types, specs=plan.ticket_types, tiers=tiers)
        ],
        batch_size=2000,
    )
    SalePhase.objects.bulk_create(
        [
            showing_phase(event=e, hall=p.hall, starts_at=p.starts_at, now=now)
            for e, p in zip(events, plans, strict=True)
        ],
        batch_size=1000,
    )
    seats = events_inventory_create_by_kind(tiers=all_tiers)
    Showing.objects.bulk_create(
        [
            showing_row(
                event=e,
                hall=p.hall,
                film=p.film,
                format=p.format,
                language=p.language,
                subtitles=p.subtitles,
            )
            for e, p in zip(events, plans, strict=True)
        ],
        batch_size=1000,
    )
    return seats


def _cinema_import(plans: list[PlannedShowing], now: datetime) -> tuple[int, list[str]]:
    """One cinema in one transaction: (seats created, []) or (0, its messages)."""
    try:
        with transaction.atomic():
            hall_ids = sorted({p.hall.pk for p in plans})
            list(Hall.objects.select_for_update().filter(pk__in=hall_ids).order_by("pk"))
            errors = _Errors()
            _check_halls(plans, _existing(plans), errors)
            errors.raise_any()
            seats = showings_write(plans=plans, now=now)
            city_id = plans[0].hall.cinema.city_id
            transaction.on_commit(lambda: schedule_changed(city_id=city_id))
    except ScheduleInvalid as exc:
        return 0, schedule_messages(exc)
    return seats, []


def _in_own_connection(plans: list[PlannedShowing], now: datetime) -> tuple[int, list[str]]:
    try:
        return _cinema_import(plans, now)
    finally:
        connection.close()  # this worker thread's own connection


def schedule_import(
    *,
    lines: list[ScheduleLine],
    allowed_cinemas: set[int] | None = None,
    now: datetime | None = None,
    workers: int = 1,
) -> ScheduleReport:
    """Check the whole schedule, then write each cinema in its own transaction
    (see the module docstring). Raises ScheduleInvalid (nothing written) when
    any line is wrong. Each cinema's transaction locks that cinema's hall rows
    (in id order; showing_create locks a hall the same way) and repeats the
    overlap check under the lock; a cinema that fails it is reported in
    `failed` with nothing of it written.

    `workers` > 1 writes that many cinemas at once, each in a thread with its
    own database connection (cinemas lock disjoint halls, so they never wait
    on each other). Only outside a transaction: a worker cannot see rows the
    caller has not committed. Pages and the API use 1.
    """
    now = now or timezone.now()
    plans = schedule_check(lines=lines, allowed_cinemas=allowed_cinemas, now=now)
    report = ScheduleReport()
    by_cinema: dict[int, list[PlannedShowing]] = defaultdict(list)
    for plan in plans:
        by_cinema[plan.hall.cinema_id].append(plan)
    groups = list(by_cinema.values())
    if workers > 1 and len(groups) > 1:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            results = list(pool.map(lambda g: _in_own_connection(g, now), groups))
    else:
        results = [_cinema_import(g, now) for g in groups]
    for cinema_plans, (seats, failed) in zip(groups, results, strict=True):
        slug = cinema_plans[0].hall.cinema.slug
        if failed:
            report.failed[slug] = failed
            continue
        report.created += len(cinema_plans)
        report.seats += seats
        report.by_cinema[slug] = {"created": len(cinema_plans), "seats": seats}
    return report


def schedule_messages(error: ScheduleInvalid) -> list[str]:
    """Every message of a ScheduleInvalid, file-level first, then by line."""
    return [m for messages in error.details.values() for m in messages]
