from __future__ import annotations

import time
from datetime import UTC, datetime
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.utils import timezone

from api.models import ApiKey, Partner
from events.demo import PRESALE_SLUG, demo_load, next_show_time
from events.models import Event, EventSeat, PriceTier, SalePhase, Seat, Section, StandingArea, Venue
from events.selectors import phase_status

MODELS = [Venue, Section, Seat, Event, PriceTier, SalePhase, EventSeat, StandingArea]
MODELS += [Partner, ApiKey]


@pytest.fixture
def data_dir(settings, tmp_path):
    settings.DATA_DIR = tmp_path / ".data"
    return settings.DATA_DIR


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
    assert not (data_dir / "demo-partner.json").exists()  # make run's alone (kassa_bootstrap)
    # The bootstrap of `make run` calls it again: nothing changes.
    call_command("kassa_bootstrap", stdout=StringIO())
    assert EventSeat.objects.filter(event=event).count() == 21_600
    assert (data_dir / "demo-partner.json").exists()
    # The stadium and the open-presale concert, each once (besides the cinema's showings).
    concerts = Event.objects.filter(production__isnull=True)
    assert sorted(concerts.values_list("slug", flat=True)) == sorted(
        ["backstreet-boys-almaty", PRESALE_SLUG]
    )


def test_a_scaled_demo_load_is_the_stadium_alone_for_benchmarks(db, data_dir):
    demo_load(places=500)
    assert list(Event.objects.values_list("slug", flat=True)) == ["backstreet-boys-almaty"]


def test_demo_names_are_entered_in_russian_kazakh_and_english(db, data_dir):
    event = demo_load(places=2000, presale=True)
    lower = Section.objects.get(venue=event.venue, code="L01")
    assert (lower.name, lower.name_kk, lower.name_en) == (
        "Нижний ярус, сектор 1",
        "Төменгі ярус, 1-сектор",
        "Lower 1",
    )
    cat1 = event.tiers.get(key="cat1")
    assert cat1.names == {"ru": "Категория 1", "kk": "1-санат", "en": "Category 1"}
    assert event.venue.names == {
        "ru": "Центральный стадион",
        "kk": "Орталық стадион",
        "en": "Central Stadium",
    }
    # Every buyer-visible name of both demo events has all three languages.
    for model in (Section, PriceTier, Venue):
        assert not model.objects.filter(name_kk="").exists(), model
        assert not model.objects.filter(name_en="").exists(), model
    assert not Event.objects.filter(description_kk="").exists()


@pytest.mark.parametrize(
    ("language", "venue", "section", "tier"),
    [
        ("ru", "Центральный стадион", "Нижний ярус, сектор 1", "Категория 1"),
        ("kk", "Орталық стадион", "Төменгі ярус, 1-сектор", "1-санат"),
        ("en", "Central Stadium", "Lower 1", "Category 1"),
    ],
)
def test_buyer_pages_show_the_active_languages_names(
    client, db, data_dir, language, venue, section, tier
):
    event = demo_load(places=2000)
    lower = Section.objects.get(venue=event.venue, code="L01")
    home = client.get("/", headers={"accept-language": language}).content.decode()
    assert venue in home
    page = client.get(event.get_absolute_url(), headers={"accept-language": language})
    html = page.content.decode()
    assert venue in html and tier in html and section in html
    assert ("Category 1" in html) == (language == "en")
    seats = client.get(f"/e/{event.slug}/s/{lower.pk}/", headers={"accept-language": language})
    assert section in seats.content.decode()


def test_names_fall_back_to_russian_when_a_translation_is_empty(db):
    venue = Venue.objects.create(name="Дворец спорта", slug="dvorets")
    assert venue.names == {"ru": "Дворец спорта", "kk": "Дворец спорта", "en": "Дворец спорта"}


def test_presale_event_is_open_now_on_the_site_for_partner_visa_cards(db, data_dir):
    demo_load(presale=True, places=500)
    event = Event.objects.get(slug=PRESALE_SLUG)
    assert demo_load(presale=True, places=500) and Event.objects.count() == 2  # idempotent
    seats = EventSeat.objects.filter(event=event).count()
    assert 1000 <= seats <= 2000 and event.tiers.count() >= 3
    assert event.venue.names["kk"] == "«Алатау» концерт залы"
    presale, general = event.phases.order_by("starts_at")
    assert presale.is_open() and not general.is_open()
    assert "web" in presale.channels
    assert (presale.card_brands, presale.card_bin_prefixes) == (["visa"], ["440043"])
    assert (presale.per_buyer_limit, presale.requires_waiting_room) == (4, False)
    assert event.waiting_room.mode == "off"
    status = phase_status(event=event, channel="web")
    assert status.state == "on_sale" and status.phase == presale


def test_the_api_keeps_name_and_adds_names_in_every_language(client, db, data_dir):
    event = demo_load(places=500)
    body = client.get(f"/api/v1/events/{event.slug}/", headers={"accept-language": "en"}).json()
    assert body["venue"]["name"] == "Центральный стадион"  # stable: the base (Russian) name
    assert body["venue"]["names"]["en"] == "Central Stadium"
    cat1 = next(t for t in body["tiers"] if t["key"] == "cat1")
    assert cat1["names"] == {"ru": "Категория 1", "kk": "1-санат", "en": "Category 1"}
    section = next(s for s in body["sections"] if s["code"] == "FAN")
    assert section["names"]["kk"] == "Жанкүйерлер аймағы"
