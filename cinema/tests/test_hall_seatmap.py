"""A showing's page is its hall's seat map: screen at the top, seat kinds,
pairs marked for the map to choose together."""

from __future__ import annotations

import re

import pytest

from cinema.factories import hall_make, showing_make
from events.models import EventSeat, Section

pytestmark = pytest.mark.django_db


def _page(client, event) -> str:
    response = client.get(f"/e/{event.slug}/")
    assert response.status_code == 200
    return response.content.decode()


def test_the_showing_page_is_the_whole_hall_with_the_screen_on_top(client):
    event = showing_make(hall=hall_make(rows=6, per_row=12)).event
    html = _page(client, event)
    assert "stadium-map" not in html and 'class="seat-picker"' in html
    assert html.count("data-seat=") == 72  # every seat of the hall, one map
    screen_y = float(re.search(r'data-screen><rect x="[^"]+" y="([^"]+)"', html).group(1))
    seat_ys = [
        float(y) for y in re.findall(r'<circle cx="[^"]+" cy="([^"]+)" r="[^"]+" class="seat', html)
    ]
    assert screen_y < min(seat_ys)
    section = Section.objects.get(venue=event.venue)
    assert client.get(f"/e/{event.slug}/s/{section.pk}/").content.decode().count("data-seat=") == 72


def test_pairs_and_kinds_are_marked_and_explained(client):
    event = showing_make(hall=hall_make()).event
    html = _page(client, event)
    love = list(
        EventSeat.objects.filter(event=event, seat__kind="love").values_list("pk", flat=True)
    )
    assert f'data-seat="{love[0]}"' in html and f'data-pair="{love[1]}"' in html
    assert f'data-pair="{love[0]}"' in html
    sofas = re.search(r'<g class="sofas".*?</g>', html, re.S).group(0)
    assert sofas.count('class="sofa"') == 1
    assert 'data-kind-legend="love"' in html and 'data-kind-legend="wheelchair"' in html
    assert "♿" in html


def test_a_companion_seat_whose_wheelchair_space_is_sold_is_drawn_taken(client):
    event = showing_make(hall=hall_make()).event
    space = EventSeat.objects.get(event=event, seat__kind="wheelchair")
    companion = EventSeat.objects.get(event=event, seat__kind="companion")
    EventSeat.objects.filter(pk=space.pk).update(status="sold")
    html = _page(client, event)
    assert f'data-seat="{companion.pk}"' not in html
    assert f'id="seat-{companion.pk}"' not in html  # nor in the seat list


def test_a_500_seat_hall_is_drawn_whole_on_one_page(client, django_assert_max_num_queries):
    from cinema.factories import cinema_make
    from cinema.services import hall_create, hall_layout_spec

    cinema = cinema_make()
    row = "S" * 15 + "_" + "S" * 20 + "_" + "S" * 15
    rows = [f"{r}: {row}" for r in "ABCDEFGHI"] + ["K: " + "LL_" * 12 + "LL"]
    spec = hall_layout_spec(cinema=cinema, code="big", name="Большой зал", rows=rows, curve=60)
    hall = hall_create(cinema=cinema, code="big", name="Большой зал", spec=spec)
    event = showing_make(hall=hall).event
    with django_assert_max_num_queries(20):
        html = _page(client, event)
    assert html.count("data-seat=") == 9 * 50 + 26
    assert html.count("data-pair=") == 26
