from __future__ import annotations

import json

import pytest

from events.models import Event, EventSeat, Seat, Venue
from events.tests.factories import make_event
from ticketing.models import AuditEntry


@pytest.fixture
def staff(admin_client):
    return admin_client


def test_venue_from_pasted_spec(staff, db, small_spec):
    response = staff.post("/admin/events/venue/from-spec/", {"spec_text": json.dumps(small_spec)})
    venue = Venue.objects.get(slug="small-hall")
    assert response.status_code == 302
    assert response["Location"] == f"/admin/events/venue/{venue.pk}/change/"
    assert Seat.objects.filter(section__venue=venue).count() == 23


def test_venue_from_uploaded_spec_file(staff, db, small_spec):
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("hall.json", json.dumps(small_spec).encode(), "application/json")
    response = staff.post("/admin/events/venue/from-spec/", {"spec_file": upload})
    assert response.status_code == 302 and Venue.objects.filter(slug="small-hall").exists()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "Not valid JSON"),
        ('{"venue": {"name": "X", "slug": "x"}, "sections": []}', "sections: must be a non-empty"),
        ("", "Upload a spec file or paste one."),
    ],
)
def test_bad_spec_is_shown_back_and_creates_nothing(staff, db, text, message):
    response = staff.post(
        "/admin/events/venue/from-spec/", {"spec_text": text}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Venue.objects.exists()


def test_admin_pages_render(staff, small_event):
    venue = small_event.venue
    for url in [
        "/admin/events/venue/",
        f"/admin/events/venue/{venue.pk}/change/",
        "/admin/events/venue/from-spec/",
        f"/admin/events/event/{small_event.pk}/change/",
        f"/admin/events/eventseat/?event__id__exact={small_event.pk}&status__exact=available",
        "/admin/events/section/",
        "/admin/events/standingarea/",
    ]:
        assert staff.get(url).status_code == 200, url


def test_event_change_page_shows_counts_per_section(staff, small_event):
    EventSeat.objects.filter(event=small_event, section__code="G").update(status="sold")
    page = staff.get(f"/admin/events/event/{small_event.pk}/change/").content.decode()
    assert "<td>G — Grid</td><td></td><td></td><td>12</td>" in page
    assert "<td>A — Arc</td><td>11</td>" in page
    assert "<td>S — Standing</td><td>50</td><td>0</td><td>0</td><td></td><td>50</td>" in page


def test_block_and_unblock_actions_go_through_the_service(staff, small_event):
    ids = list(EventSeat.objects.filter(event=small_event).values_list("pk", flat=True)[:3])
    EventSeat.objects.filter(pk=ids[0]).update(status="sold")
    staff.post("/admin/events/eventseat/", {"action": "block", "_selected_action": ids})
    statuses = sorted(EventSeat.objects.filter(pk__in=ids).values_list("status", flat=True))
    assert statuses == ["blocked", "blocked", "sold"]
    staff.post("/admin/events/eventseat/", {"action": "unblock", "_selected_action": ids})
    statuses = sorted(EventSeat.objects.filter(pk__in=ids).values_list("status", flat=True))
    assert statuses == ["available", "available", "sold"]
    assert list(AuditEntry.objects.order_by("id").values_list("action", flat=True)) == [
        "eventseat.block",
        "eventseat.unblock",
    ]


def test_create_inventory_action_is_idempotent(staff, small_event):
    fresh = make_event(venue=small_event.venue, slug="fresh")
    data = {"action": "create_inventory", "_selected_action": [fresh.pk, small_event.pk]}
    staff.post("/admin/events/event/", data)
    staff.post("/admin/events/event/", data)
    assert EventSeat.objects.filter(event=fresh).count() == 23
    assert EventSeat.objects.filter(event=small_event).count() == 23
    assert Event.objects.count() == 2
