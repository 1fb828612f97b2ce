from __future__ import annotations

import time

import pytest
from django.test import Client

from queueing import selectors, services, state

pytestmark = pytest.mark.django_db


def _join(client: Client, slug: str, **body):
    return client.post(f"/api/v1/events/{slug}/queue/join/", body, content_type="application/json")


def test_join_from_two_sessions_of_one_account_returns_one_place(room, django_user_model):
    user = django_user_model.objects.create_user("aigerim", password="x")
    other = Client()
    _join(other, room.event.slug)
    tab1, tab2 = Client(), Client()
    tab1.force_login(user)
    tab2.force_login(user)
    first = _join(tab1, room.event.slug)
    second = _join(tab2, room.event.slug)
    assert first.status_code == second.status_code == 200
    assert first.json()["number"] == second.json()["number"] == 2
    assert first.json()["state"] == "waiting" and first.json()["position"] == 2


def test_anonymous_device_keeps_its_place_and_partner_refs_are_separate(room):
    browser = Client()
    a = _join(browser, room.event.slug).json()
    b = _join(browser, room.event.slug).json()
    assert a["number"] == b["number"] == 1
    assert _join(Client(), room.event.slug).json()["number"] == 2


def test_partner_customers_have_one_place_each_across_devices(room):
    from api.models import Partner
    from api.services import api_key_create

    partner = Partner.objects.create(slug="bank", name="Bank")
    _, raw = api_key_create(partner=partner, scopes=["catalog", "sell"])
    phone, tablet = Client(), Client()
    auth = {"HTTP_AUTHORIZATION": f"Api-Key {raw}"}
    url = f"/api/v1/events/{room.event.slug}/queue/join/"
    a = phone.post(url, {"buyer_ref": "cust-1"}, content_type="application/json", **auth).json()
    b = tablet.post(url, {"buyer_ref": "cust-1"}, content_type="application/json", **auth).json()
    c = phone.post(url, {"buyer_ref": "cust-2"}, content_type="application/json", **auth).json()
    assert a["number"] == b["number"] == 1 and c["number"] == 2
    assert state.conn().hget(state.keys(room.pk)["map"], "partner:bank:cust-1") == b"1"


def test_join_unknown_event_is_a_404_error_body(db):
    response = _join(Client(), "nope")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "queue_not_found"


def test_status_touches_no_database_and_writes_no_session(room, django_assert_num_queries):
    token = _join(Client(), room.event.slug).json()["token"]
    client = Client()
    client.cookies["sessionid"] = "whatever"
    with django_assert_num_queries(0):
        response = client.get("/api/v1/queue/status/", HTTP_X_QUEUE_TOKEN=token)
    assert response.status_code == 200
    body = response.json()
    assert body["state"] == "waiting" and body["position"] == 1 and "pass" not in body
    assert "sessionid" not in response.cookies


def test_status_when_admitted_carries_a_pass(room):
    token = _join(Client(), room.event.slug).json()["token"]
    t0 = time.time()
    services.room_tick(room=room, now=t0)
    services.room_tick(room=room, now=t0 + 2)
    body = Client().get("/api/v1/queue/status/", HTTP_X_QUEUE_TOKEN=token).json()
    assert body["state"] == "admitted"
    assert body["pass_expires_at"] == pytest.approx(time.time() + 15 * 60, abs=5)
    visitor = state.conn().hkeys(state.keys(room.pk)["map"])[0].decode()
    assert selectors.pass_validate(event_id=room.event_id, buyer_key=visitor, token=body["pass"])


def test_status_without_or_with_a_bad_token_is_400(room):
    assert Client().get("/api/v1/queue/status/").status_code == 400
    bad = Client().get("/api/v1/queue/status/", HTTP_X_QUEUE_TOKEN="x:y:z")
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "queue_token_invalid"


def test_public_state_is_cacheable_and_sets_no_cookie(room, django_assert_num_queries):
    url = f"/api/v1/events/{room.event.slug}/queue/state/"
    Client().get(url)  # fills the slug lookup cache
    with django_assert_num_queries(0):
        response = Client().get(url)  # a first visit: no device cookie yet
    assert response.status_code == 200
    assert response["Cache-Control"] == "public, max-age=1"
    assert not response.cookies
    assert "Cookie" not in response.get("Vary", "")
    body = response.json()
    assert body["state"] == "open" and body["commitment"] == room.seed_hash and body["seed"] is None


def test_schema_lists_the_queue_endpoints(db):
    schema = Client().get("/api/v1/schema/").content.decode()
    for path in ("/api/v1/queue/status/", "/queue/join/", "/queue/state/"):
        assert path in schema


def test_join_writes_nothing_to_the_database(room):
    """DESIGN.md invariant 6: joining is Redis work; reads of the room and the
    event are allowed (they are cached), a write per visitor is not."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    Client().get(f"/api/v1/events/{room.event.slug}/")  # warm the per-process caches
    with CaptureQueriesContext(connection) as queries:
        for _ in range(5):
            assert _join(Client(), room.event.slug).status_code == 200
    writes = [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].lstrip().split()[0].upper() in ("INSERT", "UPDATE", "DELETE")
    ]
    assert writes == []
