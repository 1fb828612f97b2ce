from __future__ import annotations

import pytest

from events.models import Event
from events.services import event_inventory_create, venue_create_from_spec
from events.tests.factories import make_event


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


@pytest.fixture
def small_event(db, small_spec) -> Event:
    venue = venue_create_from_spec(spec=small_spec)
    event = make_event(venue=venue)
    event_inventory_create(event=event)
    return event
