from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from api.models import IdempotencyRecord, Partner
from api.services import api_key_create
from api.tasks import idempotency_purge
from api.tests import urls as test_urls
from api.tests.factories import assert_error
from ticketing.models import AuditEntry

pytestmark = pytest.mark.urls("api.tests.urls")
THINGS = "/api/v1/test/things/"


@pytest.fixture(autouse=True)
def _gate():
    test_urls.GATE.update(
        started=threading.Event(), release=threading.Event(), hold=False, sleep=0.0
    )
    yield
    test_urls.GATE["release"].set()


@pytest.fixture
def caller(api_key, client_for):
    """A partner app: the caller identity is its API key."""
    return client_for(api_key[1])


def post(client, body, key="k-1"):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key is not None else {}
    return client.post(THINGS, body, format="json", **headers)


def things() -> int:
    return AuditEntry.objects.filter(action="test.thing").count()


def test_replay_returns_the_first_response_byte_for_byte(caller):
    first = post(caller, {"name": "a"})
    assert first.status_code == 201
    again = post(caller, {"name": "a"})
    assert again.status_code == 201
    assert again.content == first.content  # same id, nonce and timestamp
    assert again["Location"] == first["Location"]
    assert again["Content-Type"] == first["Content-Type"]
    assert again["Idempotent-Replayed"] == "true"
    assert not first.has_header("Idempotent-Replayed")
    assert things() == 1


def test_without_the_header_every_post_runs(caller):
    one, two = post(caller, {"name": "a"}, None), post(caller, {"name": "a"}, None)
    assert one.content != two.content and things() == 2
    assert not IdempotencyRecord.objects.exists()


def test_same_key_other_body_is_422_and_runs_nothing(caller):
    post(caller, {"name": "a"})
    response = post(caller, {"name": "b"})
    assert_error(response, 422, "idempotency_key_reused")
    assert things() == 1


def test_keys_are_per_caller(db, client_for, make_key):
    (_k1, raw1), (_k2, raw2) = make_key(), make_key()
    one = post(client_for(raw1), {"name": "a"})
    two = post(client_for(raw2), {"name": "b"})  # same key string, other partner key
    assert one.status_code == two.status_code == 201
    assert one.json()["id"] != two.json()["id"]
    assert post(client_for(raw1), {"name": "a"}).content == one.content
    assert IdempotencyRecord.objects.count() == 2


def test_anonymous_callers_are_told_apart_by_their_device_cookie(db, client_for):
    browser, other = client_for(), client_for()
    first = post(browser, {"name": "a"})
    assert post(browser, {"name": "a"}).content == first.content
    assert post(other, {"name": "a"}).content != first.content
    assert things() == 2


def test_4xx_answers_are_stored_and_replayed(caller):
    first = post(caller, {"name": "a", "fail": "conflict"})
    assert_error(first, 409, "conflict")
    again = post(caller, {"name": "a", "fail": "conflict"})
    assert again.content == first.content and again["Idempotent-Replayed"] == "true"


def test_5xx_is_not_stored_so_a_retry_runs_again(caller):
    first = post(caller, {"name": "a", "fail": "crash"})
    assert_error(first, 500, "server_error")
    assert not IdempotencyRecord.objects.exists()
    again = post(caller, {"name": "a", "fail": "crash"})
    assert_error(again, 500, "server_error")
    assert not again.has_header("Idempotent-Replayed")


def test_expired_record_is_not_replayed(caller, settings):
    first = post(caller, {"name": "a"})
    IdempotencyRecord.objects.update(created_at=timezone.now() - timedelta(hours=25))
    again = post(caller, {"name": "a"})
    assert again.status_code == 201 and again.content != first.content
    assert things() == 2


def test_a_dead_in_flight_attempt_is_taken_over_after_the_stale_timeout(caller, settings):
    post(caller, {"name": "a"})
    record = IdempotencyRecord.objects.get()
    # As if that attempt's process had died mid-view long ago.
    IdempotencyRecord.objects.filter(pk=record.pk).update(
        completed=False,
        claimed_at=timezone.now() - timedelta(seconds=settings.API_IDEMPOTENCY_STALE_SECONDS + 1),
    )
    response = post(caller, {"name": "a"})
    assert response.status_code == 201 and not response.has_header("Idempotent-Replayed")
    record.refresh_from_db()
    assert record.completed and things() == 2
    # A fresh in-flight attempt (claimed just now) is not taken over.
    IdempotencyRecord.objects.filter(pk=record.pk).update(completed=False)
    assert_error(post(caller, {"name": "a"}), 409, "idempotency_in_flight")


def test_purge_task_drops_records_older_than_a_day(caller):
    post(caller, {"name": "old"}, "old")
    post(caller, {"name": "new"}, "new")
    IdempotencyRecord.objects.filter(key="old").update(
        created_at=timezone.now() - timedelta(hours=24, minutes=1)
    )
    assert idempotency_purge.apply().get() == 1
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["new"]


def test_purge_is_on_the_beat_schedule():
    from ticketing.celery import app

    entry = app.conf.beat_schedule["api-idempotency-purge"]
    assert entry["task"] == "api.tasks.idempotency_purge"
    assert entry["schedule"] <= 3600


def _post_in_thread(raw, body, key, results, index):
    try:
        response = post(_partner_client(raw), body, key)
        results[index] = response
    finally:
        connection.close()


def _partner_client(raw):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    return client


@pytest.fixture
def raw_key(transactional_db):
    partner = Partner.objects.create(slug="kaspi", name="Kaspi")
    return api_key_create(partner=partner, scopes=["sell"])[1]


def test_duplicate_while_the_first_is_in_flight_gets_409_retry_after(raw_key):
    gate = test_urls.GATE
    gate["hold"] = True
    results: dict[int, object] = {}
    body = {"name": "a"}
    first = threading.Thread(target=_post_in_thread, args=(raw_key, body, "race", results, 0))
    first.start()
    assert gate["started"].wait(10), "the first request never reached the view"
    # The first request is inside the view, its claim committed: a real duplicate now.
    second = threading.Thread(target=_post_in_thread, args=(raw_key, body, "race", results, 1))
    second.start()
    second.join(10)
    gate["release"].set()
    first.join(10)
    assert results[0].status_code == 201
    assert_error(results[1], 409, "idempotency_in_flight")
    assert results[1]["Retry-After"] == "1"
    replay = post(_partner_client(raw_key), {"name": "a"}, "race")
    assert replay.content == results[0].content
    assert things() == 1


def test_simultaneous_duplicates_run_the_view_exactly_once(raw_key):
    """Eight threads start together; the unique claim lets exactly one through."""
    test_urls.GATE["sleep"] = 0.3
    racers = 8
    barrier = threading.Barrier(racers)
    results: dict[int, object] = {}

    def racer(index):
        barrier.wait(5)
        _post_in_thread(raw_key, {"name": "a"}, "stampede", results, index)

    threads = [threading.Thread(target=racer, args=(i,)) for i in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    statuses = sorted(r.status_code for r in results.values())
    assert statuses == [201] + [409] * (racers - 1)
    assert things() == 1
    assert IdempotencyRecord.objects.get().completed
