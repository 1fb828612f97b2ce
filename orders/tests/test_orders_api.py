"""The holds/orders REST endpoints: status codes and bodies (API.md)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from api.models import Partner
from api.services import api_key_create
from events.models import EventSeat, SalePhase, StandingArea
from events.selectors import sale_snapshot_forget
from orders.models import Hold, Order
from orders.tests.factories import guard_with_waiting_room, seat_ids

CONTACT = {"email": "a@example.kz", "name": "Aigerim"}


@pytest.fixture
def client():
    return APIClient()


def partner_client(slug: str = "halyk", scopes=("sell",)):
    partner = Partner.objects.get_or_create(slug=slug, defaults={"name": slug})[0]
    _, raw = api_key_create(partner=partner, scopes=list(scopes))
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    return api


def test_hold_seats_then_read_then_release(client, event):
    ids = seat_ids(event)[:2]
    created = client.post("/api/v1/holds/", {"event": event.slug, "seats": ids}, format="json")
    assert created.status_code == 201, created.content
    body = created.json()
    assert set(body) >= {"id", "expires_at", "items", "total", "currency"}
    assert (body["total"], body["currency"]) == ("50000.00", "KZT")
    assert [item["seat"] for item in body["items"]] == ids
    assert client.get(f"/api/v1/holds/{body['id']}/").json()["status"] == "active"
    released = client.delete(f"/api/v1/holds/{body['id']}/")
    assert released.status_code == 200
    assert released.json()["status"] == "released"
    assert EventSeat.objects.filter(id__in=ids, status="available").count() == 2
    assert client.delete(f"/api/v1/holds/{body['id']}/").json()["error"]["code"] == (
        "hold_not_active"
    )


def test_hold_is_invisible_to_another_buyer(client, event):
    hold = client.post(
        "/api/v1/holds/", {"event": event.pk, "seats": seat_ids(event)[:1]}, format="json"
    )
    other = APIClient()
    response = other.get(f"/api/v1/holds/{hold.json()['id']}/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "hold_not_found"
    assert other.delete(f"/api/v1/holds/{hold.json()['id']}/").status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"seats": [1]}, "event"),
        ({"event": "{slug}", "seats": []}, "seats"),
        ({"event": "{slug}", "seats": ["a"]}, "seats"),
        ({"event": "{slug}"}, "non_field_errors"),
        ({"event": "{slug}", "best_available": {"quantity": 0}}, "best_available"),
        (
            {"event": "{slug}", "best_available": {"quantity": 2, "together": False}},
            "best_available",
        ),
        ({"event": "{slug}", "standing": {"quantity": 2}}, "standing"),
    ],
)
def test_bad_hold_requests_get_the_400_error_body(client, event, body, field):
    if body.get("event") == "{slug}":
        body = {**body, "event": event.slug}
    response = client.post("/api/v1/holds/", body, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert field in error["details"]


def test_taken_seat_is_409_listing_the_ids(client, event):
    ids = seat_ids(event)[:3]
    APIClient().post("/api/v1/holds/", {"event": event.slug, "seats": [ids[2]]}, format="json")
    response = client.post("/api/v1/holds/", {"event": event.slug, "seats": ids}, format="json")
    assert response.status_code == 409
    assert response.json()["error"] | {"message": ""} == {
        "code": "seat_unavailable",
        "message": "",
        "details": {"seats": [ids[2]]},
    }


def test_best_available_and_standing_over_the_api(client, event):
    best = client.post(
        "/api/v1/holds/",
        {"event": event.slug, "best_available": {"quantity": 2, "together": True}},
        format="json",
    )
    assert best.status_code == 201
    section = StandingArea.objects.get(event=event).section_id
    floor = client.post(
        "/api/v1/holds/",
        {"event": event.slug, "standing": {"section": section, "quantity": 2}},
        format="json",
    )
    assert floor.status_code == 201
    assert floor.json()["items"][0]["quantity"] == 2
    limit = client.post(
        "/api/v1/holds/",
        {"event": event.slug, "standing": {"section": section, "quantity": 3}},
        format="json",
    )
    assert limit.status_code == 409
    assert limit.json()["error"]["code"] == "limit_exceeded"
    assert limit.json()["error"]["details"]["remaining"] == 2


def test_closed_phase_and_guarded_phase_codes(client, event):
    guard_with_waiting_room(event)
    guarded = client.post(
        "/api/v1/holds/", {"event": event.slug, "seats": seat_ids(event)[:1]}, format="json"
    )
    assert (guarded.status_code, guarded.json()["error"]["code"]) == (423, "queue_pass_required")
    SalePhase.objects.filter(event=event).update(
        ends_at=timezone.now() - timedelta(minutes=1), starts_at=timezone.now() - timedelta(hours=2)
    )
    sale_snapshot_forget()  # a raw UPDATE fires no signal (admin saves do)
    closed = client.post(
        "/api/v1/holds/", {"event": event.slug, "seats": seat_ids(event)[:1]}, format="json"
    )
    assert (closed.status_code, closed.json()["error"]["code"]) == (409, "phase_closed")


def test_order_create_read_and_cancel(client, event):
    hold = client.post(
        "/api/v1/holds/", {"event": event.slug, "seats": seat_ids(event)[:2]}, format="json"
    ).json()
    created = client.post("/api/v1/orders/", {"hold": hold["id"], **CONTACT}, format="json")
    assert created.status_code == 201, created.content
    order = created.json()
    assert order["status"] == "pending_payment"
    assert set(order) >= {"id", "code", "status", "total", "currency", "expires_at", "access_token"}
    assert order["expires_at"] == hold["expires_at"]
    again = client.post("/api/v1/orders/", {"hold": hold["id"], **CONTACT}, format="json")
    assert (again.status_code, again.json()["error"]["code"]) == (409, "order_exists")
    # Another browser reads it only with the access token.
    stranger = APIClient()
    assert stranger.get(f"/api/v1/orders/{order['id']}/").status_code == 404
    assert stranger.get(f"/api/v1/orders/{order['id']}/?token=wrong").status_code == 404
    by_token = stranger.get(
        f"/api/v1/orders/{order['id']}/", HTTP_X_ORDER_TOKEN=order["access_token"]
    )
    assert by_token.status_code == 200
    assert "access_token" not in by_token.json()
    cancelled = client.post(f"/api/v1/orders/{order['id']}/cancel/")
    assert (cancelled.status_code, cancelled.json()["status"]) == (200, "cancelled")
    twice = client.post(f"/api/v1/orders/{order['id']}/cancel/")
    assert (twice.status_code, twice.json()["error"]["code"]) == (409, "order_not_cancellable")


@pytest.mark.parametrize(
    ("accept", "language"), [("kk", "kk"), ("en-GB,en;q=0.9", "en"), ("de", "ru"), ("", "ru")]
)
def test_order_takes_the_language_of_the_request(client, event, accept, language):
    hold = client.post(
        "/api/v1/holds/", {"event": event.slug, "seats": seat_ids(event)[:1]}, format="json"
    ).json()
    created = client.post(
        "/api/v1/orders/",
        {"hold": hold["id"], **CONTACT},
        format="json",
        HTTP_ACCEPT_LANGUAGE=accept,
    )
    assert created.status_code == 201, created.content
    assert Order.objects.get(pk=created.json()["id"]).language == language


def test_order_errors(client, event):
    hold = client.post(
        "/api/v1/holds/", {"event": event.slug, "seats": seat_ids(event)[:1]}, format="json"
    ).json()
    bad = client.post(
        "/api/v1/orders/", {"hold": hold["id"], "email": "x", "name": ""}, format="json"
    )
    assert bad.status_code == 400
    assert {"email", "name"} <= set(bad.json()["error"]["details"])
    foreign = APIClient().post("/api/v1/orders/", {"hold": hold["id"], **CONTACT}, format="json")
    assert (foreign.status_code, foreign.json()["error"]["code"]) == (403, "forbidden")
    missing = client.post(
        "/api/v1/orders/",
        {"hold": "8a0e7f8e-0000-4000-8000-000000000000", **CONTACT},
        format="json",
    )
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "hold_not_found")
    Hold.objects.filter(pk=hold["id"]).update(expires_at=timezone.now() - timedelta(seconds=1))
    expired = client.post("/api/v1/orders/", {"hold": hold["id"], **CONTACT}, format="json")
    assert (expired.status_code, expired.json()["error"]["code"]) == (410, "hold_expired")


def test_partner_sells_per_customer_and_reads_its_own_orders(event):
    halyk = partner_client("halyk")
    ids = seat_ids(event)
    one = halyk.post(
        "/api/v1/holds/", {"event": event.slug, "seats": ids[:6], "buyer_ref": "c1"}, format="json"
    )
    assert one.status_code == 201
    two = halyk.post(
        "/api/v1/holds/", {"event": event.slug, "seats": ids[6:8], "buyer_ref": "c2"}, format="json"
    )
    assert two.status_code == 201  # the limit is per partner customer
    over = halyk.post(
        "/api/v1/holds/", {"event": event.slug, "seats": ids[8:9], "buyer_ref": "c1"}, format="json"
    )
    assert over.status_code == 409
    order = halyk.post(
        "/api/v1/orders/", {"hold": one.json()["id"], "buyer_ref": "c1", **CONTACT}, format="json"
    )
    assert order.status_code == 201, order.content
    assert Order.objects.get().partner.slug == "halyk"
    assert halyk.get(f"/api/v1/orders/{order.json()['id']}/").status_code == 200
    assert partner_client("kaspi").get(f"/api/v1/orders/{order.json()['id']}/").status_code == 404


def test_partner_key_without_sell_scope_is_refused(event):
    response = partner_client("halyk", scopes=["catalog"]).post(
        "/api/v1/holds/", {"event": event.slug, "seats": seat_ids(event)[:1]}, format="json"
    )
    assert response.status_code == 403
    assert Hold.objects.count() == 0


def test_schema_documents_the_endpoints(client, db):
    schema = client.get("/api/v1/schema/", HTTP_ACCEPT="application/json")
    assert schema.status_code == 200
    text = schema.content.decode()
    for path in ("/api/v1/holds/", "/api/v1/orders/{order_id}/cancel/", "seat_unavailable"):
        assert path in text


@pytest.mark.django_db
def test_a_hold_for_an_unknown_event_is_404(client):
    response = client.post(
        "/api/v1/holds/", {"event": "nope", "seats": [1]}, content_type="application/json"
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "event_not_found"
