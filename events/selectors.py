"""Reads of the catalogue: public event lists, availability (one grouped query, cached ~1 s),
section seats and what a channel may buy right now."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.core.cache import cache
from django.db.models import Count, Prefetch, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from events.exceptions import EventNotFound, SectionNotFound
from events.models import (
    Allocation,
    Event,
    EventSeat,
    PriceTier,
    SalePhase,
    Seat,
    Section,
    StandingArea,
    TicketType,
    TicketTypePrice,
)

PUBLIC_STATUSES = [Event.Status.ON_SALE, Event.Status.SOLD_OUT]
AVAILABILITY_TTL = 1  # seconds: absorbs bursts, stale by at most a second


def _free_now(now: datetime) -> Q:
    # DESIGN invariant 2: an expired hold is available, with or without a sweeper.
    return Q(status=EventSeat.Status.AVAILABLE) | Q(
        status=EventSeat.Status.HELD, held_until__lt=now
    )


def event_list_public(*, now: datetime | None = None) -> QuerySet[Event]:
    """Events on sale (or sold out) that have not started yet, soonest first."""
    now = now or timezone.now()
    return (
        Event.objects.filter(status__in=PUBLIC_STATUSES, starts_at__gt=now)
        .select_related("venue")
        .order_by("starts_at", "id")
    )


def event_list_for_gates(*, now: datetime | None = None) -> QuerySet[Event]:
    """Events a gate may scan for: neither draft nor cancelled, starting from a
    day ago on (a show past midnight is still letting people in), soonest first."""
    now = now or timezone.now()
    return (
        Event.objects.exclude(status__in=[Event.Status.DRAFT, Event.Status.CANCELLED])
        .filter(starts_at__gte=now - timedelta(days=1))
        .select_related("venue")
        .order_by("starts_at", "id")
    )


def event_for_gate(slug: str) -> Event:
    """One of event_list_for_gates by slug (any start time: a late scan of a
    finished show still answers). Raises EventNotFound."""
    event = (
        Event.objects.exclude(status__in=[Event.Status.DRAFT, Event.Status.CANCELLED])
        .select_related("venue")
        .filter(slug=slug)
        .first()
    )
    if event is None:
        raise EventNotFound()
    return event


def event_detail(slug: str) -> Event:
    """A public event with venue, tiers, phases and ticket types loaded (4 queries,
    5 with types). Raises EventNotFound."""
    event = (
        Event.objects.filter(slug=slug, status__in=PUBLIC_STATUSES)
        .select_related("venue", "production")
        .prefetch_related(
            Prefetch("tiers", queryset=PriceTier.objects.order_by("sort_order", "-price")),
            Prefetch("phases", queryset=SalePhase.objects.order_by("starts_at")),
            Prefetch(
                "ticket_types",
                queryset=TicketType.objects.order_by("sort_order", "key").prefetch_related(
                    "prices"
                ),
            ),
        )
        .first()
    )
    if event is None:
        raise EventNotFound()
    for ticket_type in event.ticket_types.all():
        ticket_type.event = event  # its prices are read against the prefetched tiers
    return event


def _availability_key(event_id: int) -> str:
    # v2: the cached value became (general, reserved) counts with allocations.
    return f"events:availability:v2:{event_id}"


def event_availability(*, event: Event, channel: str | None = None) -> dict[str, Any]:
    """Available places per section and tier, with prices, for one event, as
    a buyer of `channel` may take them: the general stock plus the
    allocations open to that channel now (its own, or an open phase's it may
    buy in). channel=None: the general stock only.

    One grouped query over EventSeat plus one over StandingArea (a handful of
    rows), and one over the event's allocations only when some seats carry
    one; cached for ~1 s per event (for every channel). Shape:
    {"total": int, "sections": {section_id: {"available", "min_price", "tiers": {tier_id: n}}},
     "tiers": {tier_id: {"available", "price"}}}. Prices are Decimals.
    """
    key = _availability_key(event.pk)
    counted = cache.get(key)
    if counted is None:
        counted = _availability_counts(event)
        cache.set(key, counted, AVAILABILITY_TTL)
    general, reserved = counted
    counts = list(general)
    if channel is not None and reserved:
        now = timezone.now()
        for allocation, rows in reserved:
            if _allocation_readable_by(allocation, channel, now):
                counts += rows
    return _availability_shape(counts)


Counts = list[tuple[int, int, Decimal, int]]  # (section id, tier id, price, available)


def _availability_counts(event: Event) -> tuple[Counts, list[tuple[Allocation, Counts]]]:
    """(general counts, [(allocation not released, its free seats' counts)])."""
    now = timezone.now()
    rows = (
        EventSeat.objects.filter(event_id=event.pk)
        .values("section_id", "tier_id", "tier__price", "allocation_id")
        .annotate(available=Count("id", filter=_free_now(now)))
        .order_by()
    )
    standing = list(
        StandingArea.objects.filter(event_id=event.pk).values_list(
            "section_id", "tier_id", "tier__price", "capacity", "held", "sold", "reserved"
        )
    )
    rows = list(rows)
    allocated = {r["allocation_id"] for r in rows if r["allocation_id"] is not None}
    held_back: dict[int, Allocation] = {}
    if allocated:
        for allocation in Allocation.objects.filter(pk__in=allocated).select_related("phase"):
            if not allocation.is_released(now):
                held_back[allocation.pk] = allocation
    general: Counts = []
    reserved: dict[int, Counts] = {}
    for r in rows:
        count = (r["section_id"], r["tier_id"], r["tier__price"], r["available"])
        if r["allocation_id"] in held_back:
            reserved.setdefault(r["allocation_id"], []).append(count)
        else:
            general.append(count)
    general += [(s, t, p, cap - held - sold - kept) for s, t, p, cap, held, sold, kept in standing]
    # Standing allocations' places left (only when some area reserves any).
    area_of = {s: (t, p) for s, t, p, _cap, _held, _sold, kept in standing if kept}
    if area_of:
        for allocation in Allocation.objects.filter(
            event_id=event.pk, section_id__in=list(area_of), released_at__isnull=True
        ).select_related("phase"):
            tier_id, price = area_of[allocation.section_id]
            count = (
                allocation.section_id,
                tier_id,
                price,
                allocation.quantity - allocation.held - allocation.sold,
            )
            if allocation.is_released(now):  # due: the next standing take releases it
                general.append(count)
            else:
                held_back[allocation.pk] = allocation
                reserved.setdefault(allocation.pk, []).append(count)
    return general, [(held_back[pk], counts) for pk, counts in reserved.items()]


def _allocation_readable_by(allocation: Allocation, channel: str, now: datetime) -> bool:
    """Is the allocation open to `channel` now (for counts and the seat map;
    the take itself asks events/stock.py's USABLE)?"""
    phase = allocation.phase
    if phase is not None:
        return phase.is_open(now) and phase.allows_channel(channel)
    return allocation.open_to(channel, None)


def _availability_shape(counts: Counts) -> dict[str, Any]:
    sections: dict[int, dict[str, Any]] = {}
    tiers: dict[int, dict[str, Any]] = {}
    for section_id, tier_id, price, available in counts:
        sec = sections.setdefault(section_id, {"available": 0, "min_price": None, "tiers": {}})
        sec["available"] += available
        sec["tiers"][tier_id] = sec["tiers"].get(tier_id, 0) + available
        if available and (sec["min_price"] is None or price < sec["min_price"]):
            sec["min_price"] = price
        tier = tiers.setdefault(tier_id, {"available": 0, "price": price})
        tier["available"] += available
    return {
        "total": sum(s["available"] for s in sections.values()),
        "sections": sections,
        "tiers": tiers,
    }


def free_seat_counts(
    *, event_ids: list[int], now: datetime | None = None
) -> dict[int, tuple[int, int]]:
    """Free and total seats per event, for many events in one grouped query
    (a film's schedule marks sold-out and nearly full showings)."""
    now = now or timezone.now()
    rows = (
        EventSeat.objects.filter(event_id__in=event_ids)
        .values("event_id")
        .annotate(free=Count("id", filter=_free_now(now)), total=Count("id"))
        .order_by()
    )
    return {r["event_id"]: (r["free"], r["total"]) for r in rows}


def availability_body_key(event_id: int, section_id: int | None, channel: str = "") -> str:
    """The cache key of the availability API's whole answer (see events.api):
    per channel, as allocations make the answer differ by channel."""
    return f"{_availability_key(event_id)}:body:{section_id or ''}:{channel}"


def event_availability_forget(*, event_id: int) -> None:
    """Drop the cached availability and API answers (tests; or after staff changes)."""
    cache.delete(_availability_key(event_id))
    cache.delete_pattern(f"{_availability_key(event_id)}:body:*")


def section_of_event(*, event: Event, section_id: int) -> Section:
    section = Section.objects.filter(pk=section_id, venue_id=event.venue_id).first()
    if section is None:
        raise SectionNotFound()
    return section


def section_seats(*, event: Event, section_id: int, channel: str | None = None) -> list[list[Any]]:
    """Seats of one section: [id, row, number, x, y, tier_id, status], walking order.

    Expired holds are shown as 'available'; live holds as 'held'. Free seats
    of an allocation not open to `channel` (None: general stock only) are
    shown as 'blocked': not for this buyer to take.
    """
    now = timezone.now()
    rows = (
        EventSeat.objects.filter(event_id=event.pk, section_id=section_id)
        .order_by("seat__row_index", "seat__number")
        .values_list(
            "pk",
            "seat__row_label",
            "seat__number",
            "seat__x",
            "seat__y",
            "tier_id",
            "status",
            "held_until",
            "allocation_id",
        )
    )
    rows = list(rows)
    closed = _allocations_closed_to(
        {row[8] for row in rows if row[8] is not None}, channel=channel, now=now
    )
    seats = []
    for pk, row, number, x, y, tier_id, status, held_until, allocation_id in rows:
        if status == EventSeat.Status.HELD and held_until is not None and held_until < now:
            status = EventSeat.Status.AVAILABLE
        if status == EventSeat.Status.AVAILABLE and allocation_id in closed:
            status = EventSeat.Status.BLOCKED
        seats.append([pk, row, number, x, y, tier_id, status])
    return seats


def _allocations_closed_to(ids: set[int], *, channel: str | None, now: datetime) -> set[int]:
    """Which of these allocations a buyer of `channel` may not take from now
    (no query when there are none: most sections have no allocation)."""
    if not ids:
        return set()
    return {
        allocation.pk
        for allocation in Allocation.objects.filter(pk__in=ids).select_related("phase")
        if not allocation.is_released(now)
        and (channel is None or not _allocation_readable_by(allocation, channel, now))
    }


@dataclass(frozen=True)
class AllocationUse:
    """One allocation as the sale console shows it."""

    allocation: Allocation
    sold: int
    held: int  # by live holds (standing: by holds not expired yet)
    left: int  # free to take (for its channel; seats: for everyone once released)
    blocked: int  # taken off sale by staff

    @property
    def released(self) -> bool:
        return self.allocation.is_released()


def allocation_counts(now: datetime | None = None) -> dict[str, Count]:
    """Annotations of an Allocation queryset: seats_sold, seats_held (live
    holds), seats_left (free to take) and seats_blocked."""
    now = now or timezone.now()
    return {
        "seats_sold": Count("seats", filter=Q(seats__status=EventSeat.Status.SOLD)),
        "seats_held": Count(
            "seats", filter=Q(seats__status=EventSeat.Status.HELD, seats__held_until__gte=now)
        ),
        "seats_left": Count(
            "seats",
            filter=Q(seats__status=EventSeat.Status.AVAILABLE)
            | Q(seats__status=EventSeat.Status.HELD, seats__held_until__lt=now),
        ),
        "seats_blocked": Count("seats", filter=Q(seats__status=EventSeat.Status.BLOCKED)),
    }


def allocation_use(*, event: Event) -> list[AllocationUse]:
    """The event's allocations with their seats sold / held / left, live (one
    grouped query)."""
    allocations = (
        Allocation.objects.filter(event=event)
        .select_related("phase", "section", "tier")
        .annotate(**allocation_counts())
        .order_by("created_at", "pk")
    )
    return [_use(a) for a in allocations]


def _use(a: Allocation) -> AllocationUse:
    if a.section.kind == Section.Kind.STANDING:
        # Counters, not rows; once released its places left are the general sale's.
        left = 0 if a.released_at else a.quantity - a.held - a.sold
        return AllocationUse(allocation=a, sold=a.sold, held=a.held, left=left, blocked=0)
    return AllocationUse(
        allocation=a,
        sold=a.seats_sold,
        held=a.seats_held,
        left=a.seats_left,
        blocked=a.seats_blocked,
    )


def section_seat_kinds(*, event: Event, section_id: int) -> dict[int, tuple[str, int | None]]:
    """The section's seats that are not standard: EventSeat id → (Seat.kind, the
    EventSeat id of the seat it is sold with, or None). Empty at a stadium."""
    rows = list(
        EventSeat.objects.filter(event_id=event.pk, section_id=section_id)
        .exclude(seat__kind=Seat.Kind.STANDARD)
        .values_list("pk", "seat_id", "seat__kind", "seat__pair_id")
    )
    by_seat = {seat_id: pk for pk, seat_id, _kind, _pair in rows}
    return {pk: (kind, by_seat.get(pair)) for pk, _seat_id, kind, pair in rows}


@dataclass(frozen=True)
class PhaseStatus:
    """What a channel sees of an event's sale at a moment.

    state: presale (open only to other channels) | on_sale | sold_out | not_yet | ended
    """

    state: str
    message: str
    phase: SalePhase | None = None
    until: datetime | None = None

    @property
    def can_buy(self) -> bool:
        return self.state == "on_sale"


def _local(event: Event, moment: datetime) -> str:
    from zoneinfo import ZoneInfo

    return timezone.localtime(moment, ZoneInfo(event.time_zone)).strftime("%d.%m.%Y %H:%M")


def phase_status(
    *, event: Event, channel: str, at: datetime | None = None, available: int | None = None
) -> PhaseStatus:
    """The phase `channel` may buy in at `at` (default now) and the line to show buyers.

    `available` (total free places) may be passed to avoid re-reading availability.
    Uses `event.phases.all()` (prefetched by event_detail).
    """
    at = at or timezone.now()
    if event.status in (Event.Status.CANCELLED, Event.Status.FINISHED):
        return PhaseStatus("ended", _("Sales have ended."))
    phases = list(event.phases.all())
    open_phases = [p for p in phases if p.is_open(at)]
    mine = [p for p in open_phases if p.allows_channel(channel)]
    # After the start only a phase still open sells: a cinema's sales close
    # some minutes after the start (its phase ends there, cinema.services).
    if event.starts_at <= at and not mine:
        return PhaseStatus("ended", _("Sales have ended."))
    if mine:
        if available is None:
            available = event_availability(event=event, channel=channel)["total"]
        if event.status == Event.Status.SOLD_OUT or available <= 0:
            return PhaseStatus("sold_out", _("Sold out."), mine[0])
        phase = mine[0]
        return PhaseStatus(
            "on_sale",
            _("On sale until %(until)s.") % {"until": _local(event, phase.ends_at)},
            phase,
            phase.ends_at,
        )
    if open_phases:
        phase = open_phases[0]
        partner_only = all(c.startswith("partner:") for c in phase.channels)
        if partner_only:
            message = _("Presale for partner customers until %(until)s.")
        else:
            message = _("Presale for selected buyers until %(until)s.")
        return PhaseStatus(
            "presale", message % {"until": _local(event, phase.ends_at)}, phase, phase.ends_at
        )
    upcoming = [p for p in phases if p.starts_at > at and p.allows_channel(channel)]
    if upcoming:
        phase = upcoming[0]
        return PhaseStatus(
            "not_yet",
            _("Not on sale yet: sales open %(start)s.") % {"start": _local(event, phase.starts_at)},
            phase,
            phase.starts_at,
        )
    return PhaseStatus("ended", _("Sales have ended."))


def money(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:.2f}"


# --- the sale snapshot: what every hold request reads, cached per process ----

# Staff edits reach other processes within this many seconds; in the process
# that saved them at once (signals below). Opening and closing of phases stays
# exact: the windows are compared with the clock on every request.
SALE_SNAPSHOT_SECONDS = 5.0


@dataclass(frozen=True)
class SaleSnapshot:
    """An event with its phases, tiers, venue sections and standing areas.

    Read-only and shared between requests of one process: never mutate or
    save these instances. StandingArea counters in it are NOT current (stock
    is always read under a lock by the holds service).
    """

    event: Event
    phases: tuple[SalePhase, ...]
    tiers: dict[int, PriceTier]
    sections: dict[int, Section]
    standing: dict[int, StandingArea]  # by section id
    # How long a hold of this event lasts (Event.hold_minutes; None: the site's).
    hold_minutes: int | None = None
    # Who a seat's ticket may be for (a showing's adult, child, ...), in the
    # buyer's order; empty for events that sell no types (the stadium).
    ticket_types: tuple[TicketType, ...] = ()
    # (ticket type id, tier id) -> price, None where the type is not sold in
    # that tier; a pair left out sells the type at the tier's own price.
    type_prices: dict[tuple[int, int], Decimal | None] = field(default_factory=dict)

    def ticket_type_price(self, ticket_type: TicketType, tier_id: int) -> Decimal | None:
        """What a ticket of this type costs on a seat of this tier; None: not sold there."""
        key = (ticket_type.pk, tier_id)
        if key in self.type_prices:
            return self.type_prices[key]
        tier = self.tiers.get(tier_id)
        return None if tier is None else tier.price

    # Whether the venue has seats sold only in pairs (love seats, wheelchair +
    # companion): seat holds check the pairs only where there are some.
    paired: bool = False


_snapshots: dict[str, tuple[float, SaleSnapshot | None]] = {}


def sale_snapshot(ref: str | int) -> SaleSnapshot | None:
    """The event by id or slug with what selling needs; None if unknown.

    Seven small queries on a miss (eight when the event sells ticket types),
    none for SALE_SNAPSHOT_SECONDS afterwards
    (the hot path of hold creation: ~3 round trips a request saved).
    """
    key = str(ref)
    now = time.monotonic()
    hit = _snapshots.get(key)
    if hit is not None and hit[0] > now:
        return hit[1]
    query = Event.objects.all()
    # isascii: "²".isdigit() is True but int("²") raises (a 500 on fuzzed refs).
    by_id = key.isascii() and key.isdigit()
    event = query.filter(pk=int(key)).first() if by_id else query.filter(slug=key).first()
    snapshot = None
    if event is not None:
        types = tuple(TicketType.objects.filter(event=event).order_by("sort_order", "key"))
        prices = (
            TicketTypePrice.objects.filter(ticket_type__event=event).values_list(
                "ticket_type_id", "tier_id", "price"
            )
            if types
            else ()
        )
        snapshot = SaleSnapshot(
            event=event,
            phases=tuple(SalePhase.objects.filter(event=event).order_by("starts_at", "pk")),
            tiers={t.pk: t for t in PriceTier.objects.filter(event=event)},
            sections={s.pk: s for s in Section.objects.filter(venue_id=event.venue_id)},
            standing={a.section_id: a for a in StandingArea.objects.filter(event=event)},
            hold_minutes=event.hold_minutes,
            ticket_types=types,
            type_prices={(type_id, tier_id): price for type_id, tier_id, price in prices},
            paired=Seat.objects.filter(
                section__venue_id=event.venue_id, pair__isnull=False
            ).exists(),
        )
        _snapshots[str(event.pk)] = _snapshots[event.slug] = (now + SALE_SNAPSHOT_SECONDS, snapshot)
    else:
        # Unknown refs are cached briefly too, but never crowd out real ones.
        if len(_snapshots) > 1000:
            _snapshots.clear()
        _snapshots[key] = (now + SALE_SNAPSHOT_SECONDS, None)
    return snapshot


def sale_snapshot_forget() -> None:
    """Drop every cached snapshot (on any catalogue save; tests after raw updates)."""
    _snapshots.clear()
