from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from events.models import Event, PriceTier, SalePhase
from events.services import event_inventory_create, venue_create_from_spec


@pytest.fixture
def small_spec() -> dict:
    """3 sections: a 3 by 4 grid (12 seats), a 2-row arc (5 + 6 seats), a standing area of 50."""
    return {
        "venue": {
            "name": "Small Hall",
            "slug": "small-hall",
            "city": "Almaty",
            "time_zone": "Asia/Almaty",
            "map": {"width": 200, "height": 200},
            "stage": {"x": 90, "y": 0, "w": 20, "h": 10},
        },
        "sections": [
            {
                "code": "G",
                "name": "Grid",
                "layout": "grid",
                "origin": [80, 40],
                "rows": 3,
                "seats_per_row": 4,
                "spacing": [5, 5],
                "tier": "front",
            },
            {
                "code": "A",
                "name": "Arc",
                "layout": "arc",
                "centre": [100, 5],
                "inner_radius": 100,
                "row_depth": 5,
                "start_angle": 60,
                "end_angle": 120,
                "rows": 2,
                "seats_per_row": 5,
                "seats_per_row_step": 1,
                "tier": "back",
            },
            {
                "code": "S",
                "name": "Standing",
                "kind": "standing",
                "polygon": [[10, 20], [60, 20], [60, 60], [10, 60]],
                "capacity": 50,
                "tier": "floor",
            },
        ],
    }


def make_event(*, venue, slug: str = "small-show", status=Event.Status.ON_SALE) -> Event:
    now = timezone.now()
    event = Event.objects.create(
        venue=venue,
        title="Small show",
        slug=slug,
        starts_at=now + timedelta(days=30),
        doors_at=now + timedelta(days=30, hours=-3),
        time_zone="Asia/Almaty",
        currency="KZT",
        status=status,
    )
    for i, (key, price, colour) in enumerate(
        [("front", "30000", "#ff0000"), ("back", "10000", "#0000ff"), ("floor", "20000", "#00ff00")]
    ):
        PriceTier.objects.create(
            event=event, key=key, name=key.title(), price=Decimal(price), colour=colour,
            sort_order=i,
        )  # fmt: skip
    SalePhase.objects.create(
        event=event,
        name="Presale",
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(days=1),
        channels=["partner:halyk"],
        card_brands=["visa"],
        card_bin_prefixes=["440043"],
        per_buyer_limit=4,
        requires_waiting_room=True,
    )
    SalePhase.objects.create(
        event=event,
        name="General",
        starts_at=now + timedelta(days=1),
        ends_at=now + timedelta(days=30),
        channels=["web", "app", "partner:*"],
        per_buyer_limit=6,
        requires_waiting_room=True,
    )
    return event


@pytest.fixture
def small_event(db, small_spec) -> Event:
    venue = venue_create_from_spec(spec=small_spec)
    event = make_event(venue=venue)
    event_inventory_create(event=event)
    return event
