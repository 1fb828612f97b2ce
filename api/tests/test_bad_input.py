"""Hostile and odd input found by fuzzing (issue 15, item 8): each gets a clear
4xx with the API's error body (or a plain page), never a 500."""

from __future__ import annotations

import json

import pytest
from rest_framework.test import APIClient

from api.models import Partner
from api.services import api_key_create
from api.tests.factories import assert_error
from orders.tests.factories import make_event, seat_ids

HOLDS = "/api/v1/holds/"
SUPERSCRIPT_TWO = "\u00b2"  # "²".isdigit() is True, int("²") raises


@pytest.fixture
def event(db):
    return make_event()


def partner_client(scopes=("sell",)) -> APIClient:
    partner = Partner.objects.get_or_create(slug="halyk", defaults={"name": "Halyk"})[0]
    _, raw = api_key_create(partner=partner, scopes=list(scopes))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    return client


def test_a_non_ascii_order_token_is_refused_not_a_crash(event):
    client = APIClient()
    hold = client.post(HOLDS, {"event": event.slug, "seats": seat_ids(event)[:1]}, format="json")
    order = client.post(
        "/api/v1/orders/", {"hold": hold.json()["id"], "email": "a@b.kz", "name": "A"},
        format="json",
    )  # fmt: skip
    assert order.status_code == 201, order.content
    response = APIClient().get(f"/api/v1/orders/{order.json()['id']}/?token=%C3%A9")
    assert response.status_code in (403, 404)
    assert "error" in response.json()


@pytest.mark.parametrize(
    ("method", "url", "body"),
    [
        ("post", HOLDS, {"event": SUPERSCRIPT_TWO, "seats": [1]}),
        ("get", f"/api/v1/events/{SUPERSCRIPT_TWO}/", None),
        ("get", f"/api/v1/events/?venue={SUPERSCRIPT_TWO}", None),
    ],
)
def test_unicode_digits_are_no_ids(db, method, url, body):
    response = getattr(APIClient(), method)(url, body, format="json")
    assert response.status_code in (200, 400, 404), response.content
    assert response.status_code == 200 or "error" in response.json()


@pytest.mark.parametrize(
    "fields",
    [
        {"seats": SUPERSCRIPT_TWO},
        {"best_quantity": SUPERSCRIPT_TWO},
        {"best_quantity": "1", "tier": SUPERSCRIPT_TWO},
        {"standing_section": SUPERSCRIPT_TWO, "quantity": "1"},
    ],
)
def test_the_event_pages_hold_form_refuses_unicode_digits(client, event, fields):
    response = client.post(f"/e/{event.slug}/hold/", fields)
    assert response.status_code in (200, 302, 400), response.status_code


def test_a_card_number_of_unicode_digits_is_refused_not_a_crash():
    from sandbox.cards import luhn_valid

    assert luhn_valid(SUPERSCRIPT_TWO * 16) is False


def test_deeply_nested_json_is_a_parse_error(db):
    body = b"[" * 100_000 + b"]" * 100_000
    response = APIClient().generic("POST", HOLDS, body, content_type="application/json")
    assert_error(response, 400, "parse_error")


def test_a_3_mb_body_is_413_with_the_error_body(db):
    body = json.dumps({"event": "x", "pad": "a" * 3_000_000})
    response = APIClient().generic("POST", HOLDS, body, content_type="application/json")
    error = assert_error(response, 413, "request_too_large")
    assert error["message"]


def test_a_3_mb_form_on_a_page_is_a_plain_translated_413(client, event):
    response = client.post(
        f"/e/{event.slug}/hold/", {"seats": "1", "pad": "a" * 3_000_000},
        HTTP_ACCEPT_LANGUAGE="kk",
    )  # fmt: skip
    assert response.status_code == 413
    assert response["Content-Type"].startswith("text/plain")
    assert response.content.decode() == "Сұраныс тым үлкен."


@pytest.mark.parametrize("length", [87, 100])
def test_a_long_partner_buyer_ref_still_holds(event, length):
    body = {"event": event.slug, "seats": seat_ids(event)[:1], "buyer_ref": "r" * length}
    response = partner_client().post(HOLDS, body, format="json")
    assert response.status_code == 201, response.content


def test_a_too_long_buyer_ref_is_a_clear_400(event):
    body = {"event": event.slug, "seats": seat_ids(event)[:1], "buyer_ref": "r" * 101}
    error = assert_error(partner_client().post(HOLDS, body, format="json"), 400, "validation_error")
    assert list(error["details"]) == ["buyer_ref"]


def test_the_audit_actor_never_overflows(db):
    from ticketing.audit import AuditAction, audit_log
    from ticketing.models import AuditEntry

    entry = audit_log(action=AuditAction.HOLD_CREATED, actor="partner:" + "x" * 300)
    entry.refresh_from_db()
    assert len(entry.actor) == AuditEntry._meta.get_field("actor").max_length


def test_nested_validation_errors_name_the_field_path_in_plain_text(event):
    body = {"event": event.slug, "best_available": {"quantity": "many"}}
    response = APIClient().post(HOLDS, body, format="json", HTTP_ACCEPT_LANGUAGE="en")
    error = assert_error(response, 400, "validation_error")
    assert "ErrorDetail" not in response.content.decode()
    assert error["details"] == {
        "best_available": ["best_available.quantity: A valid integer is required."]
    }


@pytest.mark.parametrize("header", ["Bearer junk", "Basic Zm9vOmJhcg==", "Api-Key", "junk"])
def test_an_authorization_header_that_is_not_an_api_key_is_401(db, header):
    response = APIClient().get("/api/v1/events/", HTTP_AUTHORIZATION=header)
    assert_error(response, 401, "authentication_failed")
    assert response.has_header("WWW-Authenticate")


def test_a_key_whose_request_failed_validation_can_be_used_again(event):
    client = APIClient()
    key = {"HTTP_IDEMPOTENCY_KEY": "retry-me"}
    bad = client.post(HOLDS, {"event": event.slug, "seats": "x"}, format="json", **key)
    assert_error(bad, 400, "validation_error")
    good = {"event": event.slug, "seats": seat_ids(event)[:1]}
    assert client.post(HOLDS, good, format="json", **key).status_code == 201
    again = client.post(HOLDS, good, format="json", **key)
    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true"
