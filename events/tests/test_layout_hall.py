"""The cinema hall layout (`"layout": "hall"`): rows of seat letters or a CSV's seats."""

from __future__ import annotations

import pytest

from events.exceptions import LayoutSpecInvalid
from events.layout import hall_csv_rows, hall_spec, layout_plan
from events.models import Seat
from events.services import venue_create_from_spec

ROWS = [
    "A: WC_SSSSSS_SS",
    "B +0.5: SSSSSSSSSS",
    "",
    "C: VVVV_VVVV",
    "D: LL_LL_LL",
]


def _seats(rows, **kw):
    _, plans = layout_plan(hall_spec(name="Зал", slug="h", rows=rows, **kw))
    return plans[0].seats


def test_rows_give_kinds_numbers_in_walking_order_and_pairs():
    seats = _seats(ROWS)
    assert len(seats) == 10 + 10 + 8 + 6
    a = [s for s in seats if s.row_label == "A"]
    assert [s.number for s in a] == list(range(1, 11))  # the gaps are not numbered
    assert [s.kind for s in a[:3]] == ["wheelchair", "companion", "standard"]
    assert seats[a[0].pair] is a[1] and seats[a[1].pair] is a[0]
    d = [s for s in seats if s.row_label == "D"]
    assert all(s.kind == "love" for s in d)
    assert [seats[s.pair].number for s in d] == [2, 1, 4, 3, 6, 5]
    assert all(s.pair is None for s in seats if s.kind in ("standard", "vip"))


def test_a_gap_is_a_seat_wide_an_offset_shifts_and_an_empty_line_is_an_aisle():
    seats = _seats(ROWS)
    by = {(s.row_label, s.number): s for s in seats}
    assert by[("A", 3)].x - by[("A", 2)].x == pytest.approx(2 * 55)  # one gap between
    assert by[("A", 4)].x - by[("A", 3)].x == pytest.approx(55)
    assert by[("B", 1)].x - by[("A", 1)].x == pytest.approx(55 / 2)
    assert by[("B", 1)].y - by[("A", 1)].y == pytest.approx(100)
    assert by[("C", 1)].y - by[("B", 1)].y == pytest.approx(200)  # the cross aisle


def test_curve_bends_the_row_ends_towards_the_screen():
    flat = {(s.row_label, s.number): s for s in _seats(["A: SSSSSSSSSS"] * 1)}
    bent = {(s.row_label, s.number): s for s in _seats(["A: SSSSSSSSSS"], curve=40)}
    middle = bent[("A", 5)].y - flat[("A", 5)].y
    end = bent[("A", 1)].y - flat[("A", 1)].y
    assert end < middle  # the ends are nearer the screen (smaller y) than the middle


def test_screen_is_above_row_one_and_the_best_seats_are_in_the_middle_back():
    spec = hall_spec(name="Зал", slug="h", rows=[f"{r}: SSSSSSSSSS" for r in "ABCDEFGHI"])
    venue, plans = layout_plan(spec)
    seats = plans[0].seats
    stage = venue["stage"]
    assert stage["y"] + stage["h"] < min(s.y for s in seats)
    best = min(seats, key=lambda s: s.quality_rank)
    assert best.row_label in "EFG" and best.number in (5, 6)
    assert all(0 < s.x < venue["map"]["width"] and 0 < s.y < venue["map"]["height"] for s in seats)


@pytest.mark.parametrize(
    ("rows", "key", "words"),
    [
        (["A: SSS", "B: SSL_LSS"], "rows[1]", "line 2 (row B): a lone love seat (seat 3)"),
        (["A: SSLLL"], "rows[0]", "a lone love seat (seat 5)"),
        (["A: W_CSS"], "rows[0]", "wheelchair space (seat 1) without a companion seat"),
        (["A: SSC"], "rows[0]", "companion seat (seat 3) without a wheelchair space"),
        (["A: SSXS"], "rows[0]", "unknown characters X"),
        (["A: SS", "A: SS"], "rows[1]", "row A): this row label is used twice"),
        (["A SSSS"], "rows[0]", "line 1: write it as"),
        (["A: ___"], "rows[0]", "the row has no seats"),
    ],
)
def test_bad_rows_are_refused_per_line(rows, key, words):
    with pytest.raises(LayoutSpecInvalid) as caught:
        hall_spec(name="Зал", slug="h", rows=rows)
    messages = caught.value.details[f"sections[0].{key}"]
    assert any(words in m for m in messages), messages


CSV = """row,number,x,y,kind,pair_with
A,1,0,0,W,2
A,2,55,0,C,1
A,3,110,0,S,
B,1,0,100,L,2
B,2,55,100,L,1
B,3,110,100,V,
"""


def test_csv_seats_keep_their_positions_and_pairs():
    _, plans = layout_plan(hall_spec(name="Зал", slug="h", seats=hall_csv_rows(CSV)))
    seats = plans[0].seats
    assert [(s.row_label, s.number, s.kind) for s in seats] == [
        ("A", 1, "wheelchair"), ("A", 2, "companion"), ("A", 3, "standard"),
        ("B", 1, "love"), ("B", 2, "love"), ("B", 3, "vip"),
    ]  # fmt: skip
    assert seats[1].x - seats[0].x == pytest.approx(55)
    assert (seats[0].pair, seats[1].pair, seats[3].pair, seats[4].pair) == (1, 0, 4, 3)


@pytest.mark.parametrize(
    ("lines", "words"),
    [
        ("A,1,0,0,S,\nA,1,55,0,S,", "line 3: row A seat 1 is listed twice"),
        ("A,1,0,0,L,", "line 2: a love seat needs pair_with"),
        ("A,1,0,0,W,2\nA,2,55,0,S,", "cannot be paired with a standard seat"),
        ("A,1,0,0,L,2\nA,2,55,0,L,", "seat 2 must name seat 1 as its pair_with too"),
        ("A,1,0,0,L,3\nA,2,55,0,S,\nA,3,110,0,L,1", "must be next to each other"),
        ("A,1,0,0,Q,", "kind must be one of"),
        ("A,one,0,0,S,", "line 2: number and pair_with must be whole numbers"),
    ],
)
def test_bad_csv_lines_are_refused_naming_the_line(lines, words):
    with pytest.raises(LayoutSpecInvalid) as caught:
        hall_spec(
            name="Зал", slug="h", seats=hall_csv_rows("row,number,x,y,kind,pair_with\n" + lines)
        )
    assert any(words in m for ms in caught.value.details.values() for m in ms), caught.value.details


def test_csv_without_the_header_is_refused():
    with pytest.raises(LayoutSpecInvalid) as caught:
        hall_csv_rows("A,1,0,0,S,\n")
    assert "header" in caught.value.details["csv"][0]


@pytest.mark.django_db
def test_venue_from_a_hall_spec_stores_kinds_and_pairs():
    venue = venue_create_from_spec(spec=hall_spec(name="Зал", slug="hall-x", rows=ROWS))
    seats = {(s.row_label, s.number): s for s in Seat.objects.filter(section__venue=venue)}
    assert len(seats) == 34
    w, c = seats[("A", 1)], seats[("A", 2)]
    assert (w.kind, c.kind, w.pair_id, c.pair_id) == ("wheelchair", "companion", c.pk, w.pk)
    love = [seats[("D", n)] for n in range(1, 7)]
    assert [s.pair_id for s in love] == [love[i ^ 1].pk for i in range(6)]
    assert seats[("C", 1)].kind == "vip" and seats[("C", 1)].pair_id is None
    assert (
        Seat.objects.filter(section__venue=venue, kind="standard", pair__isnull=False).count() == 0
    )


def test_scaling_a_spec_keeps_a_hall_as_drawn():
    from events.layout import spec_places, spec_scaled

    spec = hall_spec(name="Зал", slug="h", rows=ROWS)
    assert spec_places(spec) == 34
    assert spec_scaled(spec, places=68)["sections"][0]["rows"] == ROWS
