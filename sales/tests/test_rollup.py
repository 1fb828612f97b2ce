"""The per-minute request rollup: counted in process, one upsert per flush,
added up across processes, and kept in Postgres whatever happens to Redis."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from queueing import selectors as queue_selectors
from sales import rollup
from sales.models import RequestMinute


@pytest.fixture(autouse=True)
def _empty_rollup():
    # Another test's requests, counted and never flushed, stay out of this one.
    with rollup._lock:
        rollup._counts.clear()
    yield
    with rollup._lock:
        rollup._counts.clear()


def _rows(**filters):
    return {
        (r.view, r.status, r.cause, r.event): r.n for r in RequestMinute.objects.filter(**filters)
    }


def test_requests_are_counted_by_view_status_and_error_code(db, redis_conn):
    client = Client()
    for _ in range(3):
        assert client.get("/healthz").status_code == 200
    missing = client.get("/api/v1/events/no-such-event/queue/state/")
    assert missing.status_code == 404
    assert rollup.pending() == 4  # nothing written yet: no INSERT per request
    assert RequestMinute.objects.count() == 0

    rollup.flush()
    rows = _rows()
    assert rows[("healthz", "2xx", "", "")] == 3
    code = missing.json()["error"]["code"]
    assert rows[("queue-state", "4xx", code, "no-such-event")] == 1
    redis_conn.flushdb()  # a Redis loss takes nothing of it (FLUSHALL would reach other workers)
    assert _rows() == rows


def test_a_crash_inside_an_api_view_is_counted_with_its_exception_class(db, monkeypatch):
    def boom(**kwargs):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(queue_selectors, "room_public_state", boom)
    monkeypatch.setattr(queue_selectors, "room_id_for_slug", lambda slug: 1)
    client = Client(raise_request_exception=False)
    assert client.get("/api/v1/events/any/queue/state/").status_code == 500
    rollup.flush()
    assert _rows(status="5xx") == {("queue-state", "5xx", "ZeroDivisionError", "any"): 1}


def test_one_flush_upserts_into_the_rows_of_earlier_flushes(db):
    minute = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    for _ in range(2):
        rollup.record(view="v", method="GET", status="2xx", duration_ms=7,
                      now=minute.timestamp() + 5)  # fmt: skip
        rollup.flush()
    row = RequestMinute.objects.get(view="v")
    assert (row.minute, row.n, row.duration_ms) == (minute, 2, 14)


def test_counts_are_kept_when_the_database_refuses_and_written_later(db, monkeypatch):
    rollup.record(view="v", method="GET", status="2xx")
    rollup.record(view="v", method="GET", status="2xx")
    monkeypatch.setattr(rollup, "_UPSERT", "INSERT INTO no_such_table VALUES {values}")
    rollup.flush_quietly()  # logs, never raises into a request
    assert rollup.pending() == 2
    monkeypatch.undo()
    rollup.flush()
    assert RequestMinute.objects.get(view="v").n == 2


@pytest.mark.django_db(transaction=True)
def test_racing_flushes_of_many_threads_add_up_exactly():
    """Eight threads (eight connections, as eight gunicorn workers) count and
    flush the same minute's rows at once: no count is lost or doubled, and the
    key-ordered upserts never deadlock."""
    RequestMinute.objects.all().delete()
    start = threading.Barrier(8)
    errors = []

    def worker():
        try:
            start.wait()
            for i in range(200):
                rollup.record(view=f"v{i % 5}", method="POST", status="4xx", cause="conflict")
                if i % 20 == 0:
                    rollup.flush()
            rollup.flush()
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    rollup.flush()
    total = sum(RequestMinute.objects.values_list("n", flat=True))
    assert total == 8 * 200
    # Per kind too (over one or two minutes, if the minute turned during the run).
    assert sum(RequestMinute.objects.filter(view="v0").values_list("n", flat=True)) == 8 * 40
    RequestMinute.objects.all().delete()


@pytest.mark.django_db(transaction=True)
def test_the_background_thread_writes_without_any_request_waiting(monkeypatch):
    RequestMinute.objects.all().delete()
    monkeypatch.setattr(rollup, "FLUSH_SECONDS", 0.2)
    thread = rollup._start_flusher()
    try:
        rollup.record(view="bg", method="GET", status="2xx")
        deadline = time.monotonic() + 10
        while not RequestMinute.objects.filter(view="bg").exists():
            assert time.monotonic() < deadline, "the flusher wrote nothing"
            time.sleep(0.1)
    finally:
        rollup.stop_flusher(thread)
    assert RequestMinute.objects.get(view="bg").n == 1
    RequestMinute.objects.all().delete()


def test_a_refused_hold_from_the_event_page_is_counted_with_its_code(db):
    from orders.tests.factories import make_event, seat_ids

    event = make_event()
    client = Client()
    seats = seat_ids(event)
    # A seat that is not of this event's map: refused, back to the event page.
    response = client.post(f"/e/{event.slug}/hold/", {"seats": [seats[0], 10**9]})
    assert response.status_code == 302
    rollup.flush()
    row = RequestMinute.objects.get(view="orders:hold_create_page")
    assert (row.status, row.event, row.n) == ("3xx", event.slug, 1)
    assert row.cause  # the hold service's refusal code
    # The console counts it among the event's refused holds.
    from sales.live import _refusals

    assert _refusals(event, timezone.now()) == [{"reason": row.cause, "n": 1}]
