"""Staff side of channel allocations: made in admin (validated, clear errors),
watched and released in the sale console (confirmed, audited)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client
from django.utils import timezone

from accounts.selectors import Buyer
from events.models import Allocation, EventSeat, Section, StandingArea
from events.services import allocation_create
from orders.services.holds import hold_create
from orders.tests.factories import make_event
from ticketing.models import AuditEntry

pytestmark = pytest.mark.django_db


@pytest.fixture
def event(db):
    return make_event()


@pytest.fixture
def admin_client(admin_client):
    admin_client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"  # the messages as written here
    return admin_client


def seated(event) -> Section:
    return Section.objects.get(venue=event.venue, kind=Section.Kind.SEATED)


def form(event, **changes) -> dict:
    data = {
        "event": event.pk,
        "name": "Halyk presale",
        "channel": "partner:*",
        "phase": "",
        "section": seated(event).pk,
        "tier": "",
        "quantity": "10",
        "release_at_0": "",
        "release_at_1": "",
    }
    return data | changes


def allocate(event, quantity: int = 6) -> Allocation:
    return allocation_create(
        event=event, name="Bank", channel="partner:bank", section=seated(event), quantity=quantity
    )


def test_admin_makes_an_allocation_through_the_service(admin_client, event):
    response = admin_client.post("/admin/events/allocation/add/", form(event))
    assert response.status_code == 302, response.content.decode()[:2000]
    allocation = Allocation.objects.get()
    assert allocation.seats.count() == 10 and allocation.channel == "partner:*"
    entry = AuditEntry.objects.get(action="allocation.created")
    assert entry.actor_user.username == "admin"
    changelist = admin_client.get("/admin/events/allocation/").content.decode()
    assert "Halyk presale" in changelist
    assert "0 sold, 0 held, 10 left" in changelist


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"quantity": "41"}, "Only 40 free seats not allocated yet in this section."),
        ({"channel": ""}, "Give either a channel or a sale phase, not both."),
        ({"release_at_0": "2020-01-01", "release_at_1": "10:00"}, "must be in the future"),
    ],
)
def test_admin_shows_why_an_allocation_cannot_be_made(admin_client, event, changes, message):
    response = admin_client.post("/admin/events/allocation/add/", form(event, **changes))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Allocation.objects.exists()
    assert not EventSeat.objects.filter(allocation__isnull=False).exists()


def test_admin_allocates_standing_places_within_the_free_ones(admin_client, event):
    standing = Section.objects.get(venue=event.venue, kind=Section.Kind.STANDING)
    too_many = form(event, section=standing.pk, quantity="51")
    response = admin_client.post("/admin/events/allocation/add/", too_many)
    assert response.status_code == 200 and not Allocation.objects.exists()
    assert "Only 50 free places not allocated yet in this area." in response.content.decode()
    response = admin_client.post("/admin/events/allocation/add/", form(event, section=standing.pk))
    assert response.status_code == 302
    assert StandingArea.objects.get(event=event).reserved == 10
    changelist = admin_client.get("/admin/events/allocation/").content.decode()
    assert "0 sold, 0 held, 10 left" in changelist


def test_admin_action_releases_once(admin_client, event):
    allocation = allocate(event)
    body = {"action": "release", "_selected_action": [allocation.pk]}
    admin_client.post("/admin/events/allocation/", body)
    admin_client.post("/admin/events/allocation/", body)
    allocation.refresh_from_db()
    assert allocation.released_at is not None
    assert AuditEntry.objects.filter(action="allocation.released").count() == 1
    # Nothing about it is edited by hand afterwards.
    page = admin_client.get(f"/admin/events/allocation/{allocation.pk}/change/").content.decode()
    assert 'name="quantity"' not in page


def _staff(*perms):
    user = get_user_model().objects.create_user("clerk", password="pw", is_staff=True)
    for perm in perms:
        app, codename = perm.split(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app, codename=codename)
        )
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def test_console_shows_each_allocation_used_live(event):
    allocation = allocate(event)
    seats = sorted(allocation.seats.values_list("pk", flat=True))
    hold_create(event=event, buyer=Buyer(channel="partner:bank", key="p:b:1"), seats=seats[:2])
    EventSeat.objects.filter(pk=seats[2]).update(status="sold", order_id=1)
    client = _staff("sales.view_sale_console", "events.change_allocation")
    (row,) = client.get(f"/staff/sales/{event.slug}/data/").json()["allocations"]
    assert row | {"id": 0} == {
        "id": 0,
        "name": "Bank",
        "scope": "partner:bank",
        "quantity": 6,
        "sold": 1,
        "held": 2,
        "left": 3,
        "blocked": 0,
        "released": False,
        "release_at": None,
    }
    page = client.get(f"/staff/sales/{event.slug}/").content.decode()
    assert f'data-allocation="{allocation.pk}"' in page
    assert f"/staff/sales/{event.slug}/allocations/{allocation.pk}/release/" in page
    assert "data-confirm" in page


def test_console_release_button_needs_the_permission_and_is_audited(event):
    allocation = allocate(event)
    url = f"/staff/sales/{event.slug}/allocations/{allocation.pk}/release/"
    viewer = _staff("sales.view_sale_console")
    assert url not in viewer.get(f"/staff/sales/{event.slug}/").content.decode()
    assert viewer.post(url).status_code == 404
    allocation.refresh_from_db()
    assert allocation.released_at is None
    viewer.logout()
    get_user_model().objects.filter(username="clerk").delete()
    boss = _staff("sales.view_sale_console", "events.change_allocation")
    assert boss.get(url).status_code == 405  # a button, never a link
    response = boss.post(url, follow=True)
    assert "Released: what was left is on general sale now." in response.content.decode()
    assert "already" in boss.post(url, follow=True).content.decode()
    allocation.refresh_from_db()
    assert allocation.released_at is not None
    entry = AuditEntry.objects.get(action="allocation.released")
    assert entry.actor_user.username == "clerk"
    data = boss.get(f"/staff/sales/{event.slug}/data/").json()
    assert data["allocations"][0]["released"] is True


def test_console_release_of_another_events_allocation_is_404(event):
    other = make_event()
    allocation = allocate(other)
    boss = _staff("sales.view_sale_console", "events.change_allocation")
    assert (
        boss.post(f"/staff/sales/{event.slug}/allocations/{allocation.pk}/release/").status_code
        == 404
    )


def test_console_without_allocations_shows_no_table(event):
    boss = _staff("sales.view_sale_console")
    assert 'id="allocations"' not in boss.get(f"/staff/sales/{event.slug}/").content.decode()
    release_at = timezone.now() + timedelta(hours=1)
    allocation_create(
        event=event,
        name="B",
        channel="app",
        section=seated(event),
        quantity=1,
        release_at=release_at,
    )
    assert 'id="allocations"' in boss.get(f"/staff/sales/{event.slug}/").content.decode()
