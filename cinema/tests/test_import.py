"""The schedule import: every validation message, all-or-nothing, bulk stock."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone, translation

from cinema import imports
from cinema.exceptions import HallBusy, ScheduleInvalid
from cinema.factories import cinema_make, film_make, hall_make, showing_make
from cinema.imports import (
    schedule_check,
    schedule_import,
    schedule_lines_from_csv,
    schedule_lines_from_rows,
)
from cinema.models import Showing
from events.models import Event, EventSeat, PriceTier, SalePhase, Seat, TicketType

pytestmark = pytest.mark.django_db

ALMATY = ZoneInfo("Asia/Almaty")
HEADER = (
    "cinema,hall,film,start,format,language,subtitles,price_standard,price_vip,"
    "price_wheelchair,price_companion,price_love,child_standard,student_standard"
)
PRICES = "2500,4500,1500,1500,3500"


def _day(days: int = 2) -> str:
    return (timezone.now().astimezone(ALMATY) + timedelta(days=days)).strftime("%Y-%m-%d")


def _line(
    start: str,
    *,
    cinema="esentai",
    hall="1",
    film="steppe-wind",
    prices=PRICES,
    extra="2d,ru,,",
    types="1500,1800",
) -> str:
    return f"{cinema},{hall},{film},{_day()} {start},{extra}{prices},{types}"


def _csv(*lines: str) -> str:
    return "\n".join([HEADER, *lines]) + "\n"


@pytest.fixture(autouse=True)
def _english():
    # The messages are compared as staff read them in English (ru/kk are in the catalogues).
    with translation.override("en"):
        yield


@pytest.fixture
def hall():
    hall = hall_make(rows=3, per_row=6)  # 18 seats, every kind
    film_make()  # steppe-wind, 110 minutes
    return hall


def _errors(text: str, **kwargs) -> dict[str, list[str]]:
    with pytest.raises(ScheduleInvalid) as info:
        schedule_import(lines=schedule_lines_from_csv(text), **kwargs)
    return info.value.details


def _only(text: str, **kwargs) -> str:
    details = _errors(text, **kwargs)
    messages = [m for ms in details.values() for m in ms]
    assert len(messages) == 1, messages
    return messages[0]


# --- success ---------------------------------------------------------------


def test_a_csv_week_imports_events_tiers_types_phases_stock_and_showings(hall):
    second = hall_make(cinema=cinema_make(slug="mega"), code="A", rows=2, per_row=5)
    text = _csv(_line("10:00"), _line("12:30"), _line("11:00", cinema="mega", hall="A"))
    report = schedule_import(lines=schedule_lines_from_csv(text))
    assert report.created == 3 and report.failed == {}
    assert report.seats == 18 * 2 + 10
    assert report.by_cinema == {
        "esentai": {"created": 2, "seats": 36},
        "mega": {"created": 1, "seats": 10},
    }
    showings = Showing.objects.filter(hall=hall).order_by("starts_at")
    assert [s.starts_at.astimezone(ALMATY).strftime("%H:%M") for s in showings] == [
        "10:00",
        "12:30",
    ]
    first = showings[0]
    assert first.ends_at - first.starts_at == timedelta(minutes=110)
    assert first.cinema_id == hall.cinema_id and first.city_id == hall.cinema.city_id
    event = first.event
    assert event.status == Event.Status.ON_SALE and event.venue_id == hall.venue_id
    assert event.hold_minutes == hall.cinema.hold_minutes
    assert {t.key: t.price for t in PriceTier.objects.filter(event=event)}["vip"] == Decimal("4500")
    for row in EventSeat.objects.filter(event=event).select_related("seat", "tier"):
        assert row.tier.key == row.seat.kind and row.status == "available"
    assert EventSeat.objects.filter(event__showing__hall=second).count() == 10
    types = {t.key: t for t in TicketType.objects.filter(event=event).prefetch_related("prices")}
    assert list(types) == ["adult", "child", "student"]
    assert types["student"].requires_document
    assert [p.price for p in types["child"].prices.all()] == [Decimal("1500.00")]
    phase = SalePhase.objects.get(event=event)
    assert phase.is_open() and phase.ends_at == first.starts_at
    assert phase.channels == ["web", "app", "partner:*"]


def test_semicolons_russian_dates_and_comma_decimals_are_understood(hall):
    day = (timezone.now().astimezone(ALMATY) + timedelta(days=3)).strftime("%d.%m.%Y")
    text = (
        "cinema;hall;film;start;price_standard;price_vip;price_wheelchair;price_companion;"
        "price_love\n"
        f"esentai;1;steppe-wind;{day} 19:30;2500,50;4500;1500;1500;3500\n"
    )
    report = schedule_import(lines=schedule_lines_from_csv(text))
    showing = Showing.objects.get()
    assert report.created == 1 and showing.format == "2d" and showing.language == "ru"
    assert showing.starts_at.astimezone(ALMATY).strftime("%d.%m.%Y %H:%M") == f"{day} 19:30"
    assert PriceTier.objects.get(event=showing.event, key="standard").price == Decimal("2500.50")
    assert not TicketType.objects.filter(event=showing.event).exists()


def test_json_lines_import_like_csv_lines(hall):
    rows = [
        {
            "cinema": "esentai",
            "hall": "1",
            "film": "steppe-wind",
            "start": f"{_day()} 18:00",
            "format": "3D",
            "language": "kk",
            "subtitles": "ru",
            "prices": {
                "standard": "2500",
                "vip": 4500,
                "wheelchair": "1500",
                "companion": "1500",
                "love": "3500",
            },
            "ticket_types": {"child": {"standard": "1000"}},
        }
    ]
    report = schedule_import(lines=schedule_lines_from_rows(rows))
    showing = Showing.objects.get()
    assert report.created == 1
    assert (showing.format, showing.language, showing.subtitles) == ("3d", "kk", "ru")
    assert showing.event.ticket_types.get(key="child").prices.get().price == Decimal("1000")


def test_one_bad_line_imports_nothing(hall):
    text = _csv(_line("10:00"), _line("13:00"), _line("16:00", film="nope"))
    details = _errors(text)
    assert list(details) == ["line 4"]
    assert not Showing.objects.exists() and not Event.objects.exists()


def test_a_cinema_changed_during_the_import_is_rolled_back_whole_and_reported(hall, monkeypatch):
    other = hall_make(cinema=cinema_make(slug="mega"), code="A", rows=2, per_row=5)
    text = _csv(_line("10:00"), _line("14:00"), _line("11:00", cinema="mega", hall="A"))
    plans = schedule_check(lines=schedule_lines_from_csv(text))
    # Someone books the esentai hall between the check and the write.
    showing_make(
        hall=hall, starts_at=datetime.fromisoformat(f"{_day()} 14:30").replace(tzinfo=ALMATY)
    )
    monkeypatch.setattr(imports, "schedule_check", lambda **kw: plans)
    report = schedule_import(lines=[])
    assert report.by_cinema == {"mega": {"created": 1, "seats": 10}}
    assert list(report.failed) == ["esentai"]
    assert report.failed["esentai"][0].startswith("Line 3: the film lasts 110 minutes")
    assert Showing.objects.filter(hall=hall).count() == 1  # only the racer's
    assert Showing.objects.filter(hall=other).count() == 1


def test_showing_create_refuses_a_busy_hall(hall):
    start = timezone.now() + timedelta(days=1)
    showing_make(hall=hall, starts_at=start)
    with pytest.raises(HallBusy):
        showing_make(hall=hall, starts_at=start + timedelta(minutes=115))
    showing_make(hall=hall, starts_at=start + timedelta(minutes=120))  # 110 + 10 turnaround


# --- file-level messages -----------------------------------------------------


def test_unknown_and_missing_columns_are_named(hall):
    with pytest.raises(ScheduleInvalid) as info:
        schedule_lines_from_csv("cinema,hall,start,colour,child_imax\n")
    assert info.value.details["file"] == [
        'Unknown column "colour".',
        'Unknown column "child_imax".',
        "Missing columns: film.",
    ]


def test_an_empty_schedule_is_refused(hall):
    assert _only(HEADER + "\n") == "The schedule has no lines."


def test_too_many_lines_are_refused(hall, monkeypatch):
    monkeypatch.setattr(imports, "MAX_LINES", 1)
    assert _only(_csv(_line("10:00"), _line("14:00"))) == "At most 1 lines per file."


def test_a_line_longer_than_the_header_is_named(hall):
    with pytest.raises(ScheduleInvalid) as info:
        schedule_lines_from_csv(_csv(_line("10:00") + ",9,9"))
    assert info.value.details == {"line 2": ["Line 2 has more cells than the header."]}


def test_json_shape_errors_name_the_line(hall):
    with pytest.raises(ScheduleInvalid) as info:
        schedule_lines_from_rows(
            [
                "x",
                {"prices": []},
                {"prices": {"gold": "1"}},
                {"ticket_types": {"vip": {}}},
                {"ticket_types": {"child": "1"}},
                {"ticket_types": {"child": {"gold": "1"}}},
            ]
        )
    assert info.value.details == {
        "line 1": ["Line 1 is not an object."],
        "line 2": ["Line 2: prices must be objects."],
        "line 3": ['Line 3: unknown seat kind "gold".'],
        "line 4": ['Line 4: unknown ticket type "vip".'],
        "line 5": ["Line 5: prices must be objects."],
        "line 6": ['Line 6: unknown seat kind "gold".'],
    }


# --- line messages -----------------------------------------------------------


def test_empty_required_cells_are_named(hall):
    text = _csv(f",1,steppe-wind,{_day()} 10:00,2d,ru,,{PRICES},,")
    assert _only(text) == "Line 2: cinema is empty."


def test_unknown_cinema_hall_and_film(hall):
    details = _errors(
        _csv(
            _line("10:00", cinema="nowhere"), _line("10:00", hall="9"), _line("10:00", film="ghost")
        )
    )
    assert details == {
        "line 2": ['Line 2: unknown cinema "nowhere".'],
        "line 3": ['Line 3: cinema "esentai" has no hall "9".'],
        "line 4": ['Line 4: unknown film "ghost".'],
    }


def test_a_partner_imports_only_its_own_cinemas(hall):
    assert _only(_csv(_line("10:00")), allowed_cinemas={-1}) == (
        'Line 2: you may not import the schedule of cinema "esentai".'
    )


def test_bad_and_past_start_times(hall):
    past = (timezone.now().astimezone(ALMATY) - timedelta(days=1)).strftime("%Y-%m-%d 10:00")
    text = _csv(
        f"esentai,1,steppe-wind,tomorrow 10:00,2d,ru,,{PRICES},,",
        f"esentai,1,steppe-wind,{_day()} 25:00,2d,ru,,{PRICES},,",
        f"esentai,1,steppe-wind,{past},2d,ru,,{PRICES},,",
        f"esentai,1,steppe-wind,9999-12-31 23:59,2d,ru,,{PRICES},,",
    )
    details = _errors(text)
    assert details["line 2"] == [
        'Line 2: bad start time "tomorrow 10:00"; write it as YYYY-MM-DD HH:MM, '
        "the cinema's local time."
    ]
    assert details["line 3"][0].startswith('Line 3: bad start time "')
    assert details["line 4"] == [f"Line 4: the start {past} is in the past."]
    assert details["line 5"][0].startswith('Line 5: bad start time "9999-12-31 23:59"')


def test_unknown_format_language_and_subtitles(hall):
    details = _errors(
        _csv(
            _line("10:00", extra="4d,ru,,"),
            _line("13:00", extra="2d,fr,,"),
            _line("16:00", extra="2d,ru,de,"),
        )
    )
    assert details == {
        "line 2": ['Line 2: unknown format "4d" (one of: 2d, 3d, imax).'],
        "line 3": ['Line 3: unknown language "fr" (one of: ru, kk, en, original).'],
        "line 4": ['Line 4: unknown subtitles "de" (one of: ru, kk, en, original).'],
    }


def test_bad_prices_are_named_by_seat_kind_and_ticket_type(hall):
    details = _errors(
        _csv(
            _line("10:00", prices="abc,4500,1500,1500,3500"),
            _line("13:00", prices="-1,4500,1500,1500,3500"),
            _line("16:00", prices="2500,4500,1500,1500,"),
            _line("19:00", prices="2500,4500.555,1500,1500,3500"),
            _line("22:00", types="-5,NaN"),
        )
    )
    assert details == {
        "line 2": ['Line 2: price_standard "abc" is not an amount of money.'],
        "line 3": ["Line 3: price_standard must not be negative."],
        "line 4": ['Line 4: no price for the love seats of hall "1" (price_love).'],
        "line 5": ['Line 5: price_vip "4500.555" is not an amount of money.'],
        "line 6": [
            "Line 6: child_standard must not be negative.",
            'Line 6: student_standard "NaN" is not an amount of money.',
        ],
    }


def test_a_duplicate_line_is_named_once(hall):
    details = _errors(_csv(_line("10:00"), _line("10:00")))
    assert details == {"line 3": ["Line 3 repeats line 2 (same hall, film and start)."]}


def test_overlapping_lines_in_one_hall(hall):
    film_make(slug="other", duration=90)
    details = _errors(_csv(_line("10:00"), _line("11:00", film="other")))
    assert details == {
        "line 3": [f'Line 3: overlaps line 2 in hall "1" ({_day()} 10:00 to {_day()} 11:50).']
    }


def test_a_line_inside_the_turnaround_is_refused(hall):
    details = _errors(_csv(_line("10:00"), _line("11:55")))  # the film ends 11:50, +10 min
    assert details == {
        "line 3": [
            f'Line 3: starts at {_day()} 11:55, but hall "1" needs 10 minutes after line 2 '
            f"ends at {_day()} 11:50 (free from {_day()} 12:00)."
        ]
    }


def test_lines_in_different_halls_at_the_same_time_are_fine(hall):
    hall_make(cinema=hall.cinema, code="2", rows=2, per_row=5)
    assert (
        schedule_import(
            lines=schedule_lines_from_csv(_csv(_line("10:00"), _line("10:00", hall="2")))
        ).created
        == 2
    )


def _existing_at(hall, clock: str) -> Showing:
    start = datetime.fromisoformat(f"{_day()} {clock}").replace(tzinfo=ALMATY)
    return showing_make(hall=hall, starts_at=start)


def test_a_line_already_in_the_schedule(hall):
    _existing_at(hall, "10:00")
    assert _only(_csv(_line("10:00"))) == "Line 2: this showing is already in the schedule."


def test_a_line_overlapping_an_existing_showing(hall):
    _existing_at(hall, "10:00")
    assert _only(_csv(_line("11:00"))) == (
        f'Line 2: overlaps an existing showing in hall "1" ({_day()} 10:00 to {_day()} 11:50).'
    )


def test_a_line_in_an_existing_showings_turnaround(hall):
    _existing_at(hall, "10:00")
    assert _only(_csv(_line("11:52"))) == (
        f'Line 2: starts at {_day()} 11:52, but hall "1" needs 10 minutes after an existing '
        f"showing ends at {_day()} 11:50 (free from {_day()} 12:00)."
    )


def test_a_film_longer_than_the_gap_before_the_next_showing(hall):
    _existing_at(hall, "14:00")
    film_make(slug="epic", duration=200)
    assert _only(_csv(_line("11:00", film="epic"))) == (
        'Line 2: the film lasts 200 minutes; with the hall\'s 10-minute turnaround hall "1" '
        f"is needed until {_day()} 14:30, but the next showing starts at {_day()} 14:00."
    )


def test_a_cancelled_showing_at_the_same_time_is_named(hall):
    showing = _existing_at(hall, "10:00")
    Showing.objects.filter(pk=showing.pk).update(cancelled=True)
    assert _only(_csv(_line("10:00"))) == (
        "Line 2: a showing of this film in this hall at this time already exists "
        "(it may be cancelled)."
    )


def test_a_price_for_a_seat_kind_the_hall_lacks_is_ignored(hall):
    plain = hall_make(cinema=hall.cinema, code="2", rows=2, per_row=4)
    Seat.objects.filter(section__venue=plain.venue, kind="love").update(kind="standard", pair=None)
    kinds = {"standard", "vip", "wheelchair", "companion"}
    report = schedule_import(lines=schedule_lines_from_csv(_csv(_line("10:00", hall="2"))))
    tiers = set(PriceTier.objects.filter(event__showing__hall=plain).values_list("key", flat=True))
    assert report.created == 1 and tiers == kinds


@pytest.mark.django_db(transaction=True)
def test_cinemas_written_in_parallel_workers_are_each_whole():
    hall_make(rows=2, per_row=4)
    film_make()
    for slug in ("mega", "kinopark"):
        hall_make(cinema=cinema_make(slug=slug), code="1", rows=2, per_row=4)
    text = _csv(*(_line(t, cinema=c) for c in ("esentai", "mega", "kinopark")
                  for t in ("10:00", "13:00")))  # fmt: skip
    report = schedule_import(lines=schedule_lines_from_csv(text), workers=3)
    assert report.created == 6 and report.seats == 48 and report.failed == {}
    assert set(report.by_cinema) == {"esentai", "mega", "kinopark"}
    assert EventSeat.objects.count() == 48 and Showing.objects.count() == 6
