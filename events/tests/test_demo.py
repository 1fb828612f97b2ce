from __future__ import annotations

import time
from datetime import UTC, datetime
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.utils import timezone

from api.models import ApiKey, Partner
from events.demo import demo_load, next_show_time
from events.models import Event, EventSeat, PriceTier, SalePhase, Seat, Section, StandingArea, Venue
from events.selectors import phase_status

MODELS = [Venue, Section, Seat, Event, PriceTier, SalePhase, EventSeat, StandingArea]
MODELS += [Partner, ApiKey]


@pytest.fixture
def data_dir(settings, tmp_path):
    settings.BASE_DIR = tmp_path
    return tmp_path / ".data"


def _snapshot() -> dict:
    return {model.__name__: model.objects.count() for model in MODELS}


def test_next_show_time_is_the_next_19_september_evening_in_almaty():
    almaty = ZoneInfo("Asia/Almaty")
    assert next_show_time(datetime(2026, 11, 27, tzinfo=UTC)) == datetime(
        2027, 9, 19, 20, tzinfo=almaty
    )
    assert next_show_time(datetime(2027, 3, 1, tzinfo=UTC)) == datetime(
        2027, 9, 19, 20, tzinfo=almaty
    )
    assert next_show_time(datetime(2027, 9, 19, 16, tzinfo=UTC)).year == 2028  # 21:00 local


def test_demo_load_is_idempotent_and_on_sale(db, data_dir):
    event = demo_load(places=2000)
    before = _snapshot()
    key_file = data_dir / "demo_partner_key.txt"
    raw = key_file.read_text().strip()
    again = demo_load(places=2000)
    assert again.pk == event.pk and _snapshot() == before
    assert key_file.read_text().strip() == raw  # written once

    assert event.title == "Backstreet Boys — DNA World Tour" and event.status == "on_sale"
    local = timezone.localtime(event.starts_at, ZoneInfo("Asia/Almaty"))
    assert (local.month, local.day, local.hour) == (9, 19, 20)
    assert timezone.localtime(event.doors_at, ZoneInfo("Asia/Almaty")).hour == 15
    assert 4 <= event.tiers.count() <= 6 and event.currency == "KZT"
    presale, general = event.phases.order_by("starts_at")
    assert presale.channels == ["partner:halyk"] and presale.card_bin_prefixes == ["440043"]
    assert (presale.per_buyer_limit, presale.requires_waiting_room) == (4, True)
    assert general.channels == ["web", "app", "partner:*"] and general.per_buyer_limit == 6
    assert general.starts_at == presale.ends_at and general.ends_at == event.starts_at
    assert phase_status(event=event, channel="partner:halyk").state == "on_sale"
    assert phase_status(event=event, channel="web").state == "on_sale"  # the site sells now
    assert presale.ends_at < timezone.now() < general.ends_at
    room = event.waiting_room
    assert room.mode == "on" and room.sale_opens_at == general.starts_at

    places = EventSeat.objects.filter(event=event).count() + sum(
        StandingArea.objects.filter(event=event).values_list("capacity", flat=True)
    )
    assert abs(places - 2000) <= 100
    key = ApiKey.objects.get(partner__slug="halyk")
    assert key.hashed_key == ApiKey.hash(raw) and sorted(key.scopes) == ["catalog", "sell"]


@pytest.mark.slow
def test_full_demo_loads_28000_places_quickly(db, data_dir):
    started = time.monotonic()
    out = StringIO()
    call_command("demo_load", stdout=out)
    elapsed = time.monotonic() - started
    event = Event.objects.get(slug="backstreet-boys-almaty")
    seats = EventSeat.objects.filter(event=event).count()
    standing = StandingArea.objects.get(event=event).capacity
    assert (seats, standing) == (21_600, 6_400)
    assert elapsed < 15, f"28k demo load took {elapsed:.1f} s"
    assert "demo_partner_key.txt" in out.getvalue()
    # The bootstrap of `make run` calls it again: nothing changes.
    call_command("kassa_bootstrap", stdout=StringIO())
    assert EventSeat.objects.filter(event=event).count() == 21_600
    assert Event.objects.count() == 1
