"""Writes of the cinema catalogue. A showing is created as a whole Event
(tiers per seat kind, ticket types, one sale phase, stock) in one transaction.

The schedule importer (many showings at once, bulk writes) builds on the same
rules; `showing_create` is the one-at-a-time path (admin, demo, tests).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cinema.exceptions import HallBusy, HallInvalid
from cinema.models import Cinema, Film, Hall, Showing
from cinema.selectors import schedule_changed
from events.layout import hall_spec, layout_plan
from events.models import (
    Event,
    PriceTier,
    Production,
    SalePhase,
    Seat,
    TicketType,
    TicketTypePrice,
    Venue,
)
from events.services import event_inventory_create, venue_create_from_spec

# Tier colours on the seat map, by seat kind.
KIND_COLOURS = {
    Seat.Kind.STANDARD: "#3b82f6",
    Seat.Kind.VIP: "#a855f7",
    Seat.Kind.WHEELCHAIR: "#10b981",
    Seat.Kind.COMPANION: "#14b8a6",
    Seat.Kind.LOVE: "#ec4899",
}
# A hall has this many seats (the staff page's bounds: a screening room to a big hall).
HALL_SEATS = (50, 500)
# Per-buyer limit of a showing's phase: a family or a school class, not a reseller.
SHOWING_LIMIT = 10


@dataclass(frozen=True)
class TicketTypeSpec:
    key: str
    name: str
    name_kk: str = ""
    name_en: str = ""
    requires_document: bool = False
    # Price by seat kind; a kind left out sells this type at the kind's price,
    # None: this type is not sold on seats of that kind.
    prices: dict[str, Decimal | None] = field(default_factory=dict)


def film_production(
    *, film_slug: str, title: str, title_kk: str = "", title_en: str = ""
) -> Production:
    production, _ = Production.objects.get_or_create(
        slug=f"film-{film_slug}"[:80],
        defaults={"name": title, "name_kk": title_kk, "name_en": title_en,
                  "kind": Production.Kind.FILM},
    )  # fmt: skip
    return production


def showing_slug(*, hall: Hall, film: Film, starts_at: datetime) -> str:
    """Readable and unique within Event.slug's 50 characters: the hall's id
    makes it unique (a hall has one showing at a time), the rest is for people."""
    local = starts_at.astimezone(ZoneInfo(hall.cinema.time_zone))
    return f"{film.slug[:18]}-{hall.cinema.slug[:10]}-{local:%y%m%d-%H%M}-{hall.pk}"


def hall_busy_until(*, hall: Hall, ends_at: datetime) -> datetime:
    """When the hall can start its next showing: the film's end plus its turnaround."""
    return ends_at + timedelta(minutes=hall.turnaround_minutes)


def hall_conflicts(*, hall: Hall, starts_at: datetime, ends_at: datetime) -> list[Showing]:
    """The hall's live showings whose busy window (start to end + turnaround)
    overlaps the one a new showing [starts_at, ends_at + turnaround) needs."""
    turnaround = timedelta(minutes=hall.turnaround_minutes)
    return list(
        Showing.objects.filter(
            hall=hall,
            cancelled=False,
            starts_at__lt=ends_at + turnaround,
            ends_at__gt=starts_at - turnaround,
        ).order_by("starts_at")
    )


def showing_event(*, hall: Hall, film: Film, starts_at: datetime, on_sale: bool = True) -> Event:
    """The (unsaved) Event of a showing, carrying the cinema's rules."""
    cinema = hall.cinema
    return Event(
        venue_id=hall.venue_id,
        title=film.title,
        slug=showing_slug(hall=hall, film=film, starts_at=starts_at),
        description=film.synopsis,
        description_kk=film.synopsis_kk,
        description_en=film.synopsis_en,
        starts_at=starts_at,
        time_zone=cinema.time_zone,
        status=Event.Status.ON_SALE if on_sale else Event.Status.DRAFT,
        production_id=film.production_id,
        hold_minutes=cinema.hold_minutes,
        refund_cutoff_minutes=cinema.refund_cutoff_minutes,
    )


def showing_tiers(*, event: Event, prices: dict[str, Decimal]) -> dict[str, PriceTier]:
    """The (unsaved) tiers of a saved showing event: one per seat kind."""
    return {
        kind: PriceTier(
            event=event,
            key=kind,
            name=str(Seat.Kind(kind).label),
            price=Decimal(price),
            colour=KIND_COLOURS.get(kind, "#888888"),
            sort_order=index,
        )
        for index, (kind, price) in enumerate(prices.items())
    }


def showing_ticket_types(*, event: Event, ticket_types: list[TicketTypeSpec]) -> list[TicketType]:
    """The (unsaved) ticket types of a saved showing event, in the specs' order."""
    return [
        TicketType(
            event=event,
            key=spec.key,
            name=spec.name,
            name_kk=spec.name_kk,
            name_en=spec.name_en,
            requires_document=spec.requires_document,
            sort_order=index,
        )
        for index, spec in enumerate(ticket_types)
    ]


def showing_type_prices(
    *, types: list[TicketType], specs: list[TicketTypeSpec], tiers: dict[str, PriceTier]
) -> list[TicketTypePrice]:
    """The (unsaved) per-kind prices of saved ticket types; a kind left out
    sells the type at the kind's own price, a price of None does not sell it there."""
    return [
        TicketTypePrice(
            ticket_type=ticket_type,
            tier=tiers[kind],
            price=None if price is None else Decimal(price),
        )
        for ticket_type, spec in zip(types, specs, strict=True)
        for kind, price in spec.prices.items()
        if kind in tiers
    ]


def showing_phase(*, event: Event, hall: Hall, starts_at: datetime, now: datetime) -> SalePhase:
    """The (unsaved) one sale phase of a saved showing event: every channel,
    from now until the start (or the cinema's minutes after it)."""
    return SalePhase(
        event=event,
        name="Box office",  # staff-facing, like every phase name
        starts_at=min(now, starts_at - timedelta(minutes=1)),
        ends_at=starts_at + timedelta(minutes=hall.cinema.sales_close_minutes),
        channels=["web", "app", "partner:*"],
        per_buyer_limit=SHOWING_LIMIT,
    )


def showing_row(
    *, event: Event, hall: Hall, film: Film, format: str, language: str, subtitles: str
) -> Showing:
    """The (unsaved) Showing of a saved event, with what the schedule filters on."""
    return Showing(
        event=event,
        film=film,
        hall=hall,
        cinema_id=hall.cinema_id,
        city_id=hall.cinema.city_id,
        starts_at=event.starts_at,
        ends_at=Showing.end_of(event.starts_at, film),
        format=format,
        language=language,
        subtitles=subtitles,
    )


@transaction.atomic
def showing_create(
    *,
    hall: Hall,
    film: Film,
    starts_at: datetime,
    prices: dict[str, Decimal],
    ticket_types: list[TicketTypeSpec] = (),
    format: str = Showing.Format.TWO_D,
    language: str = Showing.Language.RU,
    subtitles: str = "",
    on_sale: bool = True,
    now: datetime | None = None,
) -> Showing:
    """Create one showing: the Event in the hall's venue with the cinema's rules,
    one PriceTier per seat kind (`prices`: kind → price), the ticket types,
    a sale phase from now until the cinema's close, and the stock.

    The schedule importer (cinema.imports) builds the same rows with the same
    showing_* helpers, in bulk. Locks the hall row, so two showings cannot be
    put into the same slot at once. Raises HallBusy when the hall is taken
    (its showing plus turnaround) and InventoryTierMissing when a seat kind
    of the hall has no price; nothing is written then.
    """
    now = now or timezone.now()
    Hall.objects.select_for_update().filter(pk=hall.pk).first()
    ends_at = Showing.end_of(starts_at, film)
    if clash := hall_conflicts(hall=hall, starts_at=starts_at, ends_at=ends_at):
        raise HallBusy(details={"showings": [s.pk for s in clash]})
    event = showing_event(hall=hall, film=film, starts_at=starts_at, on_sale=on_sale)
    event.save()
    tiers = showing_tiers(event=event, prices=prices)
    PriceTier.objects.bulk_create(tiers.values())
    ticket_types = list(ticket_types)
    types = TicketType.objects.bulk_create(
        showing_ticket_types(event=event, ticket_types=ticket_types)
    )
    TicketTypePrice.objects.bulk_create(
        showing_type_prices(types=types, specs=ticket_types, tiers=tiers)
    )
    showing_phase(event=event, hall=hall, starts_at=starts_at, now=now).save()
    event_inventory_create(event=event, tier_by_kind=tiers)
    showing = showing_row(
        event=event, hall=hall, film=film, format=format, language=language, subtitles=subtitles
    )
    showing.save(force_insert=True)
    transaction.on_commit(lambda: schedule_changed(city_id=hall.cinema.city_id))
    return showing


def hall_layout_spec(
    *,
    cinema: Cinema,
    code: str,
    name: str,
    rows: list[str] | None = None,
    seats: list[list] | None = None,
    curve: float = 0,
) -> dict:
    """The venue spec of a hall of `cinema` (events.layout.hall_spec: one line per
    row, or CSV seats), checked as a whole: the layout (LayoutSpecInvalid, per
    line) and the hall's size (HallInvalid). Writes nothing: the preview."""  # fmt: skip
    slug = f"hall-{cinema.slug}-{code}"
    if len(slug) > 50:  # a venue slug's limit; the cinema's id keeps it unique
        slug = f"hall-{cinema.pk}-{code}"
    spec = hall_spec(
        name=name, slug=slug, rows=rows, seats=seats, curve=curve,
        time_zone=cinema.time_zone, city=cinema.city.name, address=cinema.address,
    )  # fmt: skip
    _venue, plans = layout_plan(spec)
    count = sum(len(plan.seats) for plan in plans)
    low, high = HALL_SEATS
    if not low <= count <= high:
        raise HallInvalid(
            _("A hall has %(low)s to %(high)s seats; this one has %(count)s.")
            % {"low": low, "high": high, "count": count},
            details={"seats": [count]},
        )
    return spec


@transaction.atomic
def hall_create(
    *, cinema: Cinema, code: str, name: str, name_kk: str = "", name_en: str = "", spec: dict
) -> Hall:
    """Create the hall's Venue from its spec (hall_layout_spec) and the Hall.

    The venue slug is the cinema's and the code's, so a second create of the
    same hall finds the slug taken and is refused (HallInvalid, nothing
    written) instead of reusing someone else's layout. Raises
    LayoutSpecInvalid as venue_create_from_spec does, before writing.
    """
    slug = spec["venue"]["slug"]
    if (
        Hall.objects.filter(cinema=cinema, code=code).exists()
        or Venue.objects.filter(slug=slug).exists()
    ):
        raise HallInvalid(
            _("The cinema has a hall with code %(code)s already.") % {"code": code},
            details={"code": [code]},
        )
    venue = venue_create_from_spec(spec=spec)
    try:
        with transaction.atomic():
            return Hall.objects.create(
                cinema=cinema, venue=venue, code=code, name=name, name_kk=name_kk, name_en=name_en
            )
    except IntegrityError as exc:
        # A rival created the same hall between the check and here: its venue
        # came back from venue_create_from_spec (idempotent per slug), and the
        # unique venue / (cinema, code) refuse a second hall on it.
        raise HallInvalid(
            _("The cinema has a hall with code %(code)s already.") % {"code": code},
            details={"code": [code]},
        ) from exc
