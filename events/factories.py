"""The one event builder for tests and benchmarks: a venue, its stock and its sale phases.

Tests of every app and the benches (bench/holds.py, bench/hot_paths.py) build
their events here, so a change to how an event is put together (a new field,
a new kind of stock) is made once. It lives in application code, not in a
conftest, because benches are not tests and tests import builders from
factories modules only (fixtures stay in conftest.py). Stock is created by
events' own service (event_inventory_create), the way the admin and the
import command create it, so tests see the rows a real event has.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from events.models import Event, EventSeat, PriceTier, SalePhase, Seat, Section, Venue
from events.services import event_inventory_create


@transaction.atomic
def event_build(
    *,
    seats: int = 40,
    per_row: int = 10,
    standing: int = 0,
    price: Decimal | str = "10000.00",
    tier_name: str = "Standard",
    front_price: Decimal | str | None = None,
    section_name: str = "Sector A",
    standing_name: str = "Fan zone",
    seat_spacing: float = 1.0,
    venue: Venue | None = None,
    tiers: Sequence[Mapping[str, Any]] | None = None,
    inventory: bool = True,
    phases: Sequence[Mapping[str, Any]] | None = None,
    phase_name: str = "General",
    per_buyer_limit: int = 6,
    channels: Sequence[str] = ("web", "partner:*"),
    card_brands: Sequence[str] = (),
    card_bin_prefixes: Sequence[str] = (),
    access_codes: Sequence[str] = (),
    requires_waiting_room: bool = False,
    opened_ago: timedelta = timedelta(hours=1),
    closes_in: timedelta = timedelta(days=1),
    slug: str | None = None,
    title: str | None = None,
    status: str = Event.Status.ON_SALE,
    starts_in: timedelta = timedelta(days=30),
    **event_fields: Any,
) -> Event:
    """An event with its venue, tiers, stock and sale phases; returns the Event.

    Layout (when `venue` is None): a seated section "A" of `seats` seats in rows
    of `per_row` (row 1 is the best: quality rank row*100 + distance from the
    row's centre; x = number*seat_spacing, y = row*seat_spacing) and, when
    `standing` > 0, a standing section "F" of that capacity. One tier
    `tier_name` at `price` for all of it; with `front_price`, row 1 is a
    separate "VIP" tier at that price.

    With `venue` (e.g. from venue_create_from_spec) no layout is built: the
    tiers come from `tiers` (PriceTier fields, `key` matching Section.tier_key)
    and the stock from the sections' tier keys.

    `inventory=False` leaves the stock to the caller (event_inventory_create).

    Phases: `phases` (SalePhase fields each) or else one phase `phase_name`,
    open from `opened_ago` before now until `closes_in` from now, with the per-buyer limit,
    channels, card brands/BIN prefixes, access codes and waiting-room flag given.

    `slug`/`title` default to a unique tag; other Event fields (doors_at,
    currency, time_zone…) pass through `event_fields`.
    """
    tag = uuid.uuid4().hex[:8]
    now = timezone.now()
    seated = floor = None
    if venue is None:
        venue = Venue.objects.create(name=f"Arena {tag}", slug=f"arena-{tag}")
        seated = Section.objects.create(venue=venue, code="A", name=section_name)
        Seat.objects.bulk_create(
            Seat(
                section=seated,
                row_label=str(row),
                row_index=row,
                number=number,
                x=number * seat_spacing,
                y=row * seat_spacing,
                quality_rank=row * 100 + abs(per_row // 2 - number),
            )
            for i in range(seats)
            for row, number in [(i // per_row + 1, i % per_row + 1)]
        )
        if standing:
            floor = Section.objects.create(
                venue=venue, code="F", name=standing_name, kind=Section.Kind.STANDING,
                capacity=standing,
            )  # fmt: skip
    event = Event.objects.create(
        venue=venue,
        title=title or f"Concert {tag}",
        slug=slug or f"concert-{tag}",
        starts_at=now + starts_in,
        status=status,
        **event_fields,
    )
    tier_by_section: dict[int, PriceTier] | None = None
    front = None
    if seated is not None:
        if front_price is not None:
            front = PriceTier.objects.create(event=event, name="VIP", price=Decimal(front_price))
        tier = PriceTier.objects.create(event=event, name=tier_name, price=Decimal(price))
        tier_by_section = {seated.pk: tier} | ({floor.pk: tier} if floor else {})
    for fields in tiers or ():
        PriceTier.objects.create(event=event, **fields)
    if inventory:
        event_inventory_create(event=event, tier_by_section=tier_by_section)
        if front is not None:
            EventSeat.objects.filter(event=event, seat__row_index=1).update(tier=front)
    for fields in phases or [
        {
            "name": phase_name,
            "starts_at": now - opened_ago,
            "ends_at": now + closes_in,
            "channels": list(channels),
            "card_brands": list(card_brands),
            "card_bin_prefixes": list(card_bin_prefixes),
            "access_codes": list(access_codes),
            "per_buyer_limit": per_buyer_limit,
            "requires_waiting_room": requires_waiting_room,
        }
    ]:
        SalePhase.objects.create(event=event, **fields)
    return event
