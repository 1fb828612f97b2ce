"""The seated section page as HTML: the hooks the seat map and the journeys use
(CONTRACTS 2), the legend's prices, row labels, an upright drawing, and no
inline script (a Content Security Policy is coming)."""

from __future__ import annotations

import json
import math
import re
from decimal import Decimal

import pytest

from events.models import EventSeat, Section
from ticketing.money import money_format

pytestmark = pytest.mark.django_db


def _page(client, event, code: str, lang: str = "ru") -> str:
    event.phases.filter(name="Presale").update(channels=["web"])
    section = Section.objects.get(venue=event.venue, code=code)
    response = client.get(f"/e/{event.slug}/s/{section.pk}/", HTTP_ACCEPT_LANGUAGE=lang)
    assert response.status_code == 200
    return response.content.decode()


def _seats(page: str) -> list[dict]:
    seats = []
    for tag in re.findall(r"<circle [^>]*data-seat=[^>]*>", page):
        attrs = dict(re.findall(r'([\w-]+)="([^"]*)"', tag))
        seats.append(attrs)
    return seats


def test_every_free_seat_is_a_labelled_checkbox(client, small_event):
    grid = Section.objects.get(venue=small_event.venue, code="G")
    sold = EventSeat.objects.filter(section=grid).order_by("pk").first()
    EventSeat.objects.filter(pk=sold.pk).update(status="sold")
    page = _page(client, small_event, "G")
    seats = _seats(page)
    assert len(seats) == 11  # the sold one is drawn, but not offered
    assert str(sold.pk) not in {s["data-seat"] for s in seats}
    price = money_format(Decimal("30000"), "KZT", "ru")
    for seat in seats:
        assert seat["role"] == "checkbox" and seat["aria-checked"] == "false"
        assert re.fullmatch(rf"Ряд \d+, место \d+ — Front, {price}", seat["aria-label"])
        assert f'id="seat-{seat["data-seat"]}"' in page  # its form field
    for action in ("in", "out", "reset"):
        assert f'data-zoom="{action}"' in page
    assert page.count("data-row-label") == 2 * 3  # both ends of the grid's 3 rows
    assert "data-legend" in page and "data-selection-summary" in page


def test_legend_lists_the_sections_tiers_with_prices(client, small_event):
    page = _page(client, small_event, "A", lang="kk")
    legend = re.search(r"<section class=\"seat-legend\" data-legend.*?</section>", page, re.S)[0]
    assert "Back" in legend and money_format(Decimal("10000"), "KZT", "kk") in legend
    assert "Front" not in legend  # a tier of another section
    assert "Сіздің таңдауыңыз" in legend  # "Your choice", in Kazakh


def test_script_data_is_json_and_no_script_is_inline(client, small_event):
    page = _page(client, small_event, "G", lang="en")
    config = json.loads(
        re.search(
            r'<script id="seat-map-config" type="application/json">(.*?)</script>', page, re.S
        )[1]
    )
    assert config["currency"] == "KZT" and config["limit"] == 4
    tier = small_event.tiers.get(key="front")
    assert config["prices"][str(tier.pk)] == "30000.00"
    assert config["text"]["limit"] == "You can choose up to 4 seats at once."
    for script in re.findall(r"<script[^>]*>", page):
        assert "src=" in script or 'type="application/json"' in script, script
    assert "<style" not in page and "vendor/panzoom-4.6.2/panzoom.min.js" in page


def test_an_arc_sector_is_drawn_with_its_rows_across_front_row_on_top(client, small_event):
    seats = _seats(_page(client, small_event, "A"))
    rows: dict[str, list[tuple[float, float]]] = {}
    for seat in seats:
        rows.setdefault(seat["data-row"], []).append((float(seat["cx"]), float(seat["cy"])))
    for points in rows.values():
        (x0, y0), (x1, y1) = points[0], points[-1]
        assert abs(math.degrees(math.atan2(y1 - y0, x1 - x0))) % 180 < 1  # across the screen
    mean_y = {row: sum(y for _, y in pts) / len(pts) for row, pts in rows.items()}
    assert mean_y["1"] < mean_y["2"]
