"""bench/cinema.py's generated week is a valid schedule (the bench would
otherwise measure the importer refusing it)."""

from __future__ import annotations

from datetime import date, datetime
from itertools import pairwise

from bench import cinema


def test_the_slots_leave_room_for_the_longest_film_and_the_turnaround():
    starts = [datetime.strptime(s, "%H:%M") for s in cinema.SLOTS]
    gaps = [(b - a).total_seconds() / 60 for a, b in pairwise(starts)]
    assert min(gaps) >= max(minutes for _, minutes in cinema.FILMS) + 10  # hall_make's turnaround


def test_the_csv_has_one_line_per_showing_of_the_city_week():
    text = cinema.schedule_csv(date(2030, 1, 1))
    lines = text.strip().split("\n")
    assert len(lines) == 1 + cinema.CINEMAS * cinema.HALLS * cinema.PER_DAY * cinema.DAYS
    header = lines[0].split(",")
    assert all(len(line.split(",")) == len(header) for line in lines[1:])
    assert lines[1].startswith("bench-00,1,") and "2030-01-01 09:30" in lines[1]
