from __future__ import annotations

import json
import math

import pytest

from events.demo import LAYOUT
from events.exceptions import LayoutSpecInvalid
from events.layout import layout_plan, spec_places, spec_scaled


def test_small_spec_generates_exact_counts_rows_and_polygons(small_spec):
    _, plans = layout_plan(small_spec)
    by_code = {p.code: p for p in plans}
    assert len(by_code["G"].seats) == 12
    assert [len([s for s in by_code["A"].seats if s.row_index == r]) for r in (0, 1)] == [5, 6]
    assert by_code["S"].seats == [] and by_code["S"].capacity == 50
    assert all(len(p.geometry["points"]) >= 4 for p in plans)
    grid = by_code["G"].seats
    assert (grid[0].x, grid[0].y) == (80, 40)  # seat 1 of row 1 at the origin
    assert (grid[-1].row_label, grid[-1].number, grid[-1].x, grid[-1].y) == ("3", 4, 95, 50)


def test_arc_seats_lie_on_their_row_circle(small_spec):
    _, plans = layout_plan(small_spec)
    arc = next(p for p in plans if p.code == "A")
    for seat in arc.seats:
        radius = math.hypot(seat.x - 100, seat.y - 5)
        assert radius == pytest.approx(100 + 5 * seat.row_index, abs=0.01)
        assert 60 < math.degrees(math.atan2(seat.y - 5, seat.x - 100)) < 120


def test_quality_rank_one_is_the_seat_nearest_the_stage_centre(small_spec):
    _, plans = layout_plan(small_spec)
    seats = [s for p in plans for s in p.seats]
    assert sorted(s.quality_rank for s in seats) == list(range(1, len(seats) + 1))
    best = min(seats, key=lambda s: s.quality_rank)
    nearest = min(seats, key=lambda s: math.hypot(s.x - 100, s.y - 5))
    assert best is nearest
    worst = max(seats, key=lambda s: s.quality_rank)
    assert math.hypot(worst.x - 100, worst.y - 5) >= math.hypot(best.x - 100, best.y - 5)


def test_every_seat_has_distinct_coordinates():
    _, plans = layout_plan(json.loads(LAYOUT.read_text()))
    points = [(s.x, s.y) for p in plans for s in p.seats]
    assert len(points) == 21_600
    assert len(set(points)) == len(points)


def test_central_stadium_spec_has_28000_places():
    assert spec_places(json.loads(LAYOUT.read_text())) == 28_000


@pytest.mark.parametrize("places", [500, 2000, 10_000])
def test_scaled_spec_lands_within_five_percent(places):
    scaled = spec_scaled(json.loads(LAYOUT.read_text()), places=places)
    assert abs(spec_places(scaled) - places) <= places * 0.05


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda s: s["venue"].update(slug="no spaces"), "venue.slug"),
        (lambda s: s["sections"][0].update(rows=0), "sections[0].rows"),
        (lambda s: s["sections"][1].update(end_angle=10), "sections[1].end_angle"),
        (lambda s: s["sections"][1].update(centre="x"), "sections[1].centre"),
        (lambda s: s["sections"][2].update(polygon=[[0, 0]]), "sections[2].polygon"),
        (lambda s: s["sections"][2].update(capacity=-1), "sections[2].capacity"),
        (lambda s: s["sections"][1].update(code="G"), "sections[1].code"),
        (lambda s: s["sections"][0].update(layout="spiral"), "sections[0].layout"),
        (
            lambda s: s["sections"][0].update(seats_per_row_step=-3),
            "sections[0].seats_per_row_step",
        ),
        (lambda s: s.update(sections=[]), "sections"),
    ],
)
def test_invalid_spec_is_refused_naming_the_field(small_spec, mutate, field):
    mutate(small_spec)
    with pytest.raises(LayoutSpecInvalid) as info:
        layout_plan(small_spec)
    assert field in info.value.details


def test_spec_that_is_not_an_object_is_refused():
    with pytest.raises(LayoutSpecInvalid):
        layout_plan([1, 2])
