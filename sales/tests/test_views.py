"""The console's and the report's pages: staff only, with their permissions;
the room controls go through the room services and are audited."""

from __future__ import annotations

import csv

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from events.models import SalePhase
from events.selectors import sale_snapshot_forget
from orders.services.holds import hold_create
from orders.services.orders import order_create
from orders.tests.factories import guard_with_waiting_room, make_event, seat_ids, web_buyer
from queueing import services as queue_services
from queueing.models import WaitingRoom
from sales import rollup
from ticketing.models import AuditEntry


def _user(name, *perms, staff=True):
    user = get_user_model().objects.create_user(name, password="pw", is_staff=staff)
    for perm in perms:
        app, codename = perm.split(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app, codename=codename)
        )
    return user


@pytest.fixture
def event(db):
    event = make_event()
    guard_with_waiting_room(event)
    return event


@pytest.fixture
def boss(db):
    user = _user("boss", "sales.view_sale_console", "sales.view_sale_report",
                 "queueing.change_waitingroom")  # fmt: skip
    client = Client()
    client.force_login(user)
    return client


def test_console_and_report_are_for_staff_with_their_permission(event, client):
    url = f"/staff/sales/{event.slug}/"
    assert client.get(url).status_code == 302  # to the staff login
    client.force_login(_user("clerk"))
    assert client.get(url).status_code == 403
    assert client.get(url + "report/").status_code == 403
    client.force_login(_user("viewer", "sales.view_sale_console"))
    page = client.get(url)
    assert page.status_code == 200
    assert "uplot-1.6.32/uPlot.iife.min.js" in page.content.decode()
    assert 'id="sale-console-initial"' in page.content.decode()  # the first numbers
    assert 'name="action"' not in page.content.decode()  # no controls without the room permission
    assert client.post(url + "control/", {"action": "pause"}).status_code == 404
    assert client.get(url + "report/").status_code == 403
    assert client.get("/staff/sales/no-such-event/").status_code == 404


def test_console_data_has_the_live_queue_and_sales(event, boss):
    room = WaitingRoom.objects.get(event=event)
    for i in range(3):
        queue_services.queue_join(room_id=room.pk, visitor=f"device:v{i}")
    queue_services.room_tick(room=room)
    data = boss.get(f"/staff/sales/{event.slug}/data/").json()
    assert data["queue"]["joined"] == 3
    assert data["queue"]["rate_room"] == room.admission_rate_per_minute
    assert data["time_zone"] == event.time_zone
    assert data["sales"]["tickets_total"] == 0
    assert data["sales"]["left_total"] == 90
    # Two tiers (VIP and Standard, the standing area priced as Standard), 40 seats + 50 places.
    assert [t["name"] for t in data["sales"]["tiers"]] == ["VIP", "Standard"]
    assert len(data["sales"]["minutes"]) == 60
    assert "views" in data["health"] and data["health"]["tick_age_s"] is not None


@pytest.mark.parametrize(
    ("post", "field", "value"),
    [
        ({"action": "pause"}, "paused", True),
        ({"action": "drain"}, "draining", True),
        ({"action": "rate", "value": "90"}, "admission_rate_per_minute", 90),
        ({"action": "max_active", "value": "7"}, "max_active_shoppers", 7),
    ],
)
def test_room_controls_change_the_room_through_its_service_audited(event, boss, post, field, value):
    response = boss.post(f"/staff/sales/{event.slug}/control/", post)
    assert response.status_code == 302
    room = WaitingRoom.objects.get(event=event)
    assert getattr(room, field) == value
    entry = AuditEntry.objects.filter(action="queue.room_updated", object_id=str(room.pk)).first()
    assert entry.actor_user.username == "boss" and str(entry.data[field]["new"]) == str(value)


def test_resume_ends_pause_and_drain(event, boss):
    boss.post(f"/staff/sales/{event.slug}/control/", {"action": "drain"})
    boss.post(f"/staff/sales/{event.slug}/control/", {"action": "resume"})
    room = WaitingRoom.objects.get(event=event)
    assert (room.paused, room.draining) == (False, False)


BAD = [
    {"action": "rate"},
    {"action": "rate", "value": "0"},
    {"action": "explode"},
    {"action": "max_active", "value": "x"},
]


@pytest.mark.parametrize("post", BAD)
def test_bad_control_input_is_a_400_with_a_message_and_changes_nothing(event, boss, post):
    before = AuditEntry.objects.count()
    response = boss.post(f"/staff/sales/{event.slug}/control/", post)
    assert response.status_code == 400
    assert 'class="errorlist"' in response.content.decode()
    assert AuditEntry.objects.count() == before


def test_report_page_csv_pdf_and_chart(event, boss):
    boss.get(f"/api/v1/events/{event.slug}/queue/state/")
    rollup.flush()
    page = boss.get(f"/staff/sales/{event.slug}/report/")
    assert page.status_code == 200
    body = page.content.decode()
    for name in ("timeline", "by_tier", "queue", "payments", "errors", "audit"):
        assert f"/staff/sales/{event.slug}/report/{name}.csv" in body
    download = boss.get(f"/staff/sales/{event.slug}/report/by_tier.csv")
    assert download["Content-Type"].startswith("text/csv")
    assert "attachment" in download["Content-Disposition"]
    rows = list(csv.reader(download.content.decode("utf-8-sig").splitlines()))
    assert len(rows) == 1 + 2 + 1  # header, two tiers, the total
    assert boss.get(f"/staff/sales/{event.slug}/report/nope.csv").status_code == 404
    pdf = boss.get(f"/staff/sales/{event.slug}/report/report.pdf")
    assert pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    svg = boss.get(f"/staff/sales/{event.slug}/report/chart.svg")
    assert svg["Content-Type"] == "image/svg+xml" and b"<svg" in svg.content


def test_the_room_admin_links_to_the_console(event, boss):
    room = WaitingRoom.objects.get(event=event)
    changelist = boss.get("/admin/queueing/waitingroom/")
    assert f"/staff/sales/{event.slug}/" in changelist.content.decode()
    live = boss.get(f"/admin/queueing/waitingroom/{room.pk}/live/")
    assert f"/staff/sales/{event.slug}/" in live.content.decode()


def test_console_data_costs_the_same_queries_whatever_the_sales(event, boss):
    """Aggregates only: the number of queries does not grow with holds and orders."""
    url = f"/staff/sales/{event.slug}/data/"
    boss.get(url)  # the first reading of the metrics fills the cache
    with CaptureQueriesContext(connection) as empty:
        assert boss.get(url).status_code == 200
    # Buyers hold without a pass: the room stays, the phase no longer needs it.
    SalePhase.objects.filter(event=event).update(requires_waiting_room=False)
    sale_snapshot_forget()
    seats = seat_ids(event)
    for i in range(6):
        buyer = web_buyer(f"b{i}")
        hold = hold_create(event=event, buyer=buyer, seats=seats[i * 2 : i * 2 + 2])
        order_create(hold=hold, buyer=buyer, email=f"b{i}@example.kz", name="B")
    with CaptureQueriesContext(connection) as busy:
        data = boss.get(url).json()
    assert data["sales"]["per_minute"]["holds"] == 6
    assert len(busy) == len(empty), [q["sql"][:80] for q in busy.captured_queries]


def test_a_value_the_room_refuses_is_a_400_and_saves_nothing(event, boss, monkeypatch):
    from django.core.exceptions import ValidationError

    def refuse(**kwargs):
        raise ValidationError("no such rate")

    monkeypatch.setattr(queue_services, "room_update", refuse)
    response = boss.post(f"/staff/sales/{event.slug}/control/", {"action": "rate", "value": "5"})
    assert response.status_code == 400
    assert "no such rate" in response.content.decode()
    assert WaitingRoom.objects.get(event=event).admission_rate_per_minute != 5


def test_the_console_links_to_the_cancellation_page_for_who_may_cancel(event, boss):
    url = f"/staff/sales/{event.slug}/"
    cancel = f"/admin/events/event/{event.pk}/cancel/"
    assert cancel not in boss.get(url).content.decode()  # no refund permission
    client = Client()
    client.force_login(
        _user("chief", "sales.view_sale_console", "events.change_event", "payments.add_refund")
    )
    assert cancel in client.get(url).content.decode()
    assert client.get(cancel).status_code == 200
