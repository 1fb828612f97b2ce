"""Builders for events' tests: the small show on a venue built from a layout spec."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from events.factories import event_build
from events.models import Event, Venue

_TIERS = [
    ("front", "30000", "#ff0000"),
    ("back", "10000", "#0000ff"),
    ("floor", "20000", "#00ff00"),
]


def make_event(*, venue: Venue, slug: str = "small-show", status=Event.Status.ON_SALE) -> Event:
    """The small show on `venue`: three keyed tiers (front, back, floor), a card-gated
    presale open now and a general sale from tomorrow. No stock (tests create it)."""
    now = timezone.now()
    return event_build(
        venue=venue,
        inventory=False,
        title="Small show",
        slug=slug,
        status=status,
        doors_at=now + timedelta(days=30, hours=-3),
        time_zone="Asia/Almaty",
        currency="KZT",
        tiers=[
            {"key": key, "name": key.title(), "price": price, "colour": colour, "sort_order": i}
            for i, (key, price, colour) in enumerate(_TIERS)
        ],
        phases=[
            {
                "name": "Presale",
                "starts_at": now - timedelta(hours=1),
                "ends_at": now + timedelta(days=1),
                "channels": ["partner:halyk"],
                "card_brands": ["visa"],
                "card_bin_prefixes": ["440043"],
                "per_buyer_limit": 4,
                "requires_waiting_room": True,
            },
            {
                "name": "General",
                "starts_at": now + timedelta(days=1),
                "ends_at": now + timedelta(days=30),
                "channels": ["web", "app", "partner:*"],
                "per_buyer_limit": 6,
                "requires_waiting_room": True,
            },
        ],
    )
