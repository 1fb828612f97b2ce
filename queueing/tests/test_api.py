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


# --- the guests' fast lane (queueing.api._fast_answer) ------------------------
# A query string sends the same request through DRF's own cycle: both must answer alike.


def _same_answer(fast, drf):
    assert fast.status_code == drf.status_code
    skip = {"X-Request-ID", "Content-Security-Policy"}
    assert {k: v for k, v in fast.items() if k not in skip} == {
        k: v for k, v in drf.items() if k not in skip
    }
    assert sorted(fast.cookies) == sorted(drf.cookies)


def test_fast_lane_status_answers_byte_for_byte_as_drf(room):
    token = _join(Client(), room.event.slug).json()["token"]
    for header in ({"HTTP_X_QUEUE_TOKEN": token}, {"HTTP_X_QUEUE_TOKEN": "junk"}, {}):
        # Each a new browser: both answers set its device cookie.
        fast = Client().get("/api/v1/queue/status/", HTTP_ACCEPT_LANGUAGE="kk", **header)
        drf = Client().get("/api/v1/queue/status/?via=drf", HTTP_ACCEPT_LANGUAGE="kk", **header)
        _same_answer(fast, drf)
        assert fast.content == drf.content


def test_fast_lane_join_answers_as_drf(room):
    fast = _join(Client(), room.event.slug)
    drf = Client().post(
        f"/api/v1/events/{room.event.slug}/queue/join/?via=drf", {}, content_type="application/json"
    )
    _same_answer(fast, drf)
    assert fast.json()["number"] == 1 and drf.json()["number"] == 2
    assert fast.json().keys() == drf.json().keys()
    assert fast["Vary"] == "Accept-Language, Cookie"  # the session was read, as DRF's auth does
    for slug in ("nope", room.event.slug):  # 404; and a body DRF must validate (400)
        body = {} if slug == "nope" else {"again": "maybe"}
        url = f"/api/v1/events/{slug}/queue/join/"
        fast = Client().post(url, body, content_type="application/json")
        drf = Client().post(url + "?via=drf", body, content_type="application/json")
        _same_answer(fast, drf)
        assert fast.content == drf.content


def test_fast_lane_counts_the_throttle_once_per_call_and_refuses_without_joining(room, settings):
    settings.API_THROTTLE_ANON = "4/h"
    token = _join(Client(), room.event.slug).json()["token"]  # 1
    caller = Client()
    assert caller.get("/api/v1/queue/status/", HTTP_X_QUEUE_TOKEN=token).status_code == 200  # 2
    assert caller.get("/api/v1/queue/status/", HTTP_X_QUEUE_TOKEN="junk").status_code == 400  # 3
    assert _join(Client(), "nope").status_code == 404  # 4: counted before the 404, as DRF does
    refused = caller.get("/api/v1/queue/status/", HTTP_X_QUEUE_TOKEN=token)
    assert refused.status_code == 429 and refused.json()["error"]["code"] == "throttled"
    assert 1 <= int(refused["Retry-After"]) <= 3600
    assert refused.json()["error"]["details"] == {"retry_after": int(refused["Retry-After"])}
    tail = state.read(room.pk)["tail"]
    joined = _join(Client(), room.event.slug)
    assert joined.status_code == 429
    assert state.read(room.pk)["tail"] == tail == "1"  # refused before any place was taken
    # Another address has its own budget, in the fast lane as in DRF's.
    assert (
        Client(REMOTE_ADDR="10.0.0.9")
        .get("/api/v1/queue/status/", HTTP_X_QUEUE_TOKEN=token)
        .status_code
        == 200
    )
