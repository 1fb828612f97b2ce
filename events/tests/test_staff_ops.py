"""Staff operations on events: duplicating an event to another date, no sale
without inventory, readable admin (places, phases, tier keys)."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone, translation

from events.exceptions import DuplicateInvalid, EventWithoutInventory
from events.factories import event_build
from events.models import Event, EventSeat, PriceTier, SalePhase, StandingArea
from events.services import (
    event_duplicate,
    event_inventory_create,
    event_status_set,
    eventseat_block,
)
from queueing.models import WaitingRoom
from queueing.services import room_create
from ticketing.models import AuditEntry

pytestmark = pytest.mark.django_db


@pytest.fixture
def source() -> Event:
    """Two tiers in one section (a VIP front row), standing, two phases, a room."""
    event = event_build(seats=12, per_row=4, standing=30, front_price="50000", price="20000")
    SalePhase.objects.create(
        event=event,
        name="Presale",
        starts_at=event.starts_at - timedelta(days=20),
        ends_at=event.starts_at - timedelta(days=10),
        channels=["partner:halyk"],
        card_brands=["visa"],
        card_bin_prefixes=["440043"],
        per_buyer_limit=4,
    )
    room_create(
        event=event,
        mode="on",
        sale_opens_at=event.starts_at - timedelta(days=10),
        prequeue_opens_at=event.starts_at - timedelta(days=10, hours=1),
        admission_rate_per_minute=321,
    )
    return event


def test_duplicate_copies_tiers_phases_room_and_stock_moved_by_the_same_offset(source):
    blocked = list(EventSeat.objects.filter(event=source).order_by("id")[:2])
    eventseat_block(event_seat_ids=[s.pk for s in blocked])
    EventSeat.objects.filter(event=source, pk=blocked[0].pk + 5).update(status="sold", order_id=1)
    new_start = source.starts_at + timedelta(days=7, hours=2)
    copy = event_duplicate(event=source, starts_at=new_start, slug="second-show", copy_blocked=True)
    offset = new_start - source.starts_at
    assert (copy.status, copy.title, copy.venue_id) == ("draft", source.title, source.venue_id)
    assert sorted(PriceTier.objects.filter(event=copy).values_list("name", "price")) == sorted(
        PriceTier.objects.filter(event=source).values_list("name", "price")
    )
    phases = [
        (p.name, p.starts_at, p.ends_at, p.channels, p.card_bin_prefixes, p.per_buyer_limit)
        for p in SalePhase.objects.filter(event=source).order_by("starts_at")
    ]
    assert [
        (p.name, p.starts_at - offset, p.ends_at - offset, p.channels, p.card_bin_prefixes,
         p.per_buyer_limit)
        for p in SalePhase.objects.filter(event=copy).order_by("starts_at")
    ] == phases  # fmt: skip
    # Every seat on the copy of its own tier (the VIP front row too), nothing sold.
    source_tiers = dict(EventSeat.objects.filter(event=source).values_list("seat_id", "tier__name"))
    copy_seats = EventSeat.objects.filter(event=copy)
    assert dict(copy_seats.values_list("seat_id", "tier__name")) == source_tiers
    assert {s.tier.event_id for s in copy_seats.select_related("tier")} == {copy.pk}
    statuses = dict(copy_seats.values_list("seat_id", "status"))
    assert {statuses[s.seat_id] for s in blocked} == {"blocked"}
    assert sorted(statuses.values()).count("available") == 10
    area = StandingArea.objects.get(event=copy)
    assert (area.capacity, area.held, area.sold, area.tier.event_id) == (30, 0, 0, copy.pk)
    room = WaitingRoom.objects.get(event=copy)
    old_room = WaitingRoom.objects.get(event=source)
    assert room.sale_opens_at == old_room.sale_opens_at + offset
    assert room.prequeue_opens_at == old_room.prequeue_opens_at + offset
    assert room.admission_rate_per_minute == 321 and room.seed != old_room.seed
    entry = AuditEntry.objects.get(action="event.duplicated", object_id=str(copy.pk))
    assert (entry.data["source"], entry.data["seats"], entry.data["blocked"]) == (source.pk, 12, 2)


def test_duplicate_without_blocked_seats_puts_every_seat_on_sale(source):
    eventseat_block(
        event_seat_ids=list(EventSeat.objects.filter(event=source).values_list("pk", flat=True)[:3])
    )
    copy = event_duplicate(
        event=source,
        starts_at=source.starts_at + timedelta(days=1),
        slug="free",
        copy_blocked=False,
    )
    assert set(EventSeat.objects.filter(event=copy).values_list("status", flat=True)) == {
        "available"
    }


def test_duplicate_to_a_taken_slug_writes_nothing(source):
    before = Event.objects.count()
    with pytest.raises(DuplicateInvalid):
        event_duplicate(event=source, starts_at=source.starts_at, slug=source.slug)
    assert Event.objects.count() == before


def test_no_sale_without_inventory():
    event = event_build(seats=4, inventory=False, status=Event.Status.DRAFT)
    with pytest.raises(EventWithoutInventory):
        event_status_set(event=event, status=Event.Status.ON_SALE)
    event.refresh_from_db()
    assert event.status == "draft"
    event_inventory_create(event=event, tier_by_section={
        s: event.tiers.get() for s in event.venue.sections.values_list("pk", flat=True)
    })  # fmt: skip
    event_status_set(event=event, status=Event.Status.ON_SALE)
    event.refresh_from_db()
    assert event.status == "on_sale"
    assert AuditEntry.objects.filter(
        action="event.status_changed", object_id=str(event.pk)
    ).exists()


# --- admin -------------------------------------------------------------------------


def test_admin_refuses_on_sale_without_inventory_with_a_message(admin_client):
    event = event_build(seats=4, inventory=False, status=Event.Status.DRAFT)
    url = f"/admin/events/event/{event.pk}/change/"
    page = admin_client.get(url)
    form = page.context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None and k != "poster"}
    data |= {
        "starts_at_0": timezone.localtime(event.starts_at).strftime("%Y-%m-%d"),
        "starts_at_1": timezone.localtime(event.starts_at).strftime("%H:%M:%S"),
        "status": "on_sale",
        "tiers-TOTAL_FORMS": 0, "tiers-INITIAL_FORMS": 0,
        "phases-TOTAL_FORMS": 0, "phases-INITIAL_FORMS": 0,
    }  # fmt: skip
    data.pop("starts_at")
    data.pop("doors_at", None)
    data["venue"] = event.venue_id
    # The existing tier and phase stay as they are (sent back unchanged).
    tier, phase = event.tiers.get(), event.phases.get()
    data |= {"tiers-TOTAL_FORMS": 1, "tiers-INITIAL_FORMS": 1, "tiers-0-id": tier.pk,
             "tiers-0-event": event.pk, "tiers-0-name": tier.name, "tiers-0-price": tier.price,
             "tiers-0-colour": tier.colour, "tiers-0-sort_order": 0, "tiers-0-key": ""}  # fmt: skip
    data |= {"phases-TOTAL_FORMS": 1, "phases-INITIAL_FORMS": 1, "phases-0-id": phase.pk,
             "phases-0-event": event.pk, "phases-0-name": phase.name,
             "phases-0-starts_at_0": timezone.localtime(phase.starts_at).strftime("%Y-%m-%d"),
             "phases-0-starts_at_1": timezone.localtime(phase.starts_at).strftime("%H:%M:%S"),
             "phases-0-ends_at_0": timezone.localtime(phase.ends_at).strftime("%Y-%m-%d"),
             "phases-0-ends_at_1": timezone.localtime(phase.ends_at).strftime("%H:%M:%S"),
             "phases-0-channels": ["web"], "phases-0-card_bin_prefixes": "",
             "phases-0-access_codes": "", "phases-0-per_buyer_limit": 6}  # fmt: skip
    answer = admin_client.post(url, data)
    assert answer.status_code == 200
    with translation.override(answer.wsgi_request.LANGUAGE_CODE):
        assert str(EventWithoutInventory.default_message) in answer.content.decode()
    event.refresh_from_db()
    assert event.status == "draft"


def test_admin_duplicate_page_reads_the_time_in_the_events_zone(admin_client, source):
    Event.objects.filter(pk=source.pk).update(time_zone="Asia/Almaty")
    url = f"/admin/events/event/{source.pk}/duplicate/"
    assert admin_client.get(url).status_code == 200
    bad = admin_client.post(url, {"starts_at": "not a date", "slug": source.slug})
    assert bad.status_code == 200 and b"errorlist" in bad.content
    answer = admin_client.post(
        url, {"starts_at": "2031-03-08T19:30", "slug": "march-show", "copy_blocked": "on"}
    )
    copy = Event.objects.get(slug="march-show")
    assert answer.status_code == 302 and answer["Location"].endswith(f"/{copy.pk}/change/")
    expected = datetime(2031, 3, 8, 19, 30, tzinfo=ZoneInfo("Asia/Almaty"))
    assert copy.starts_at == expected
    listing = admin_client.post(
        "/admin/events/event/", {"action": "duplicate", "_selected_action": [source.pk]}
    )
    assert listing["Location"] == url


def test_phase_form_takes_channels_brands_and_bin_prefixes_as_fields(admin_client, source):
    from events.forms import SalePhaseForm

    phase = source.phases.first()
    data = {
        "name": "Bank presale",
        "starts_at": phase.starts_at,
        "ends_at": phase.ends_at,
        "channels": ["web", "partner:*"],
        "card_brands": ["visa", "mastercard"],
        "card_bin_prefixes": "440043, 5169\n440043",
        "access_codes": "",
        "per_buyer_limit": 4,
    }
    form = SalePhaseForm(data, instance=phase)
    assert form.is_valid(), form.errors
    saved = form.save()
    assert saved.card_bin_prefixes == ["440043", "5169"] and saved.channels == ["web", "partner:*"]
    bad = SalePhaseForm(data | {"card_bin_prefixes": "4400-43, abc"}, instance=phase)
    assert not bad.is_valid() and "card_bin_prefixes" in bad.errors
    assert not SalePhaseForm(data | {"card_brands": ["diners"]}, instance=phase).is_valid()
    assert not SalePhaseForm(data | {"channels": []}, instance=phase).is_valid()
    page = admin_client.get(f"/admin/events/event/{source.pk}/change/").content.decode()
    assert 'name="phases-0-card_bin_prefixes"' in page and "BIN" in page
    assert 'type="checkbox" name="phases-0-channels"' in page


def test_tier_key_is_chosen_from_the_venues_section_keys(admin_client, small_event):
    page = admin_client.get(f"/admin/events/event/{small_event.pk}/change/").content.decode()
    assert '<select name="tiers-0-key"' in page
    for key in ("front", "back", "floor"):
        assert f'<option value="{key}"' in page


def test_a_new_events_tier_key_says_what_it_must_match(admin_client):
    from events.forms import PriceTierForm

    page = admin_client.get("/admin/events/event/add/")
    assert page.status_code == 200
    with translation.override(page.wsgi_request.LANGUAGE_CODE):
        assert str(PriceTierForm.base_fields["key"].help_text) in page.content.decode()


def test_seats_and_tickets_read_as_places_in_admin(admin_client, source):
    seat = EventSeat.objects.filter(event=source).order_by("seat__row_index", "seat__number")[0]
    with translation.override("en"):
        assert str(seat) == "Sector A, row 1, seat 1 (Available)"
    page = admin_client.get("/admin/events/eventseat/", {"event__id__exact": source.pk})
    assert page.status_code == 200


def test_inventory_action_speaks_in_words(admin_client):
    event = event_build(seats=5, inventory=False, status=Event.Status.DRAFT)
    tier = event.tiers.get()
    tier.key = "main"
    tier.save()
    event.venue.sections.update(tier_key="main")
    answer = admin_client.post(
        "/admin/events/event/",
        {"action": "create_inventory", "_selected_action": [event.pk]},
        follow=True,
    )
    text = [str(m) for m in answer.context["messages"]]
    assert len(text) == 1 and "{" not in text[0] and "5" in text[0]
    assert EventSeat.objects.filter(event=event).count() == 5
    assert Decimal(tier.price) > 0
