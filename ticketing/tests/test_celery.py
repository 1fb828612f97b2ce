from __future__ import annotations

import json

from django.http import HttpResponse
from django.test import RequestFactory

from ticketing.middleware import RequestIdMiddleware
from ticketing.tasks import ping
from ticketing.tests.factories import wait_for


def _log_lines(path):
    lines = []
    for raw in path.read_text().splitlines():
        try:
            lines.append(json.loads(raw))
        except ValueError:
            continue  # Celery's banner is not JSON
    return lines


def test_a_task_runs_through_the_real_broker_with_the_request_id(celery_worker_process):
    """A request queues a task; the worker's log line for it carries the request's id."""
    _queue, log_path = celery_worker_process

    def view(request):
        ping.delay("from-a-request")
        return HttpResponse("queued")

    request = RequestFactory().get("/anything", HTTP_X_REQUEST_ID="req-celery-42")
    response = RequestIdMiddleware(view)(request)
    assert response["X-Request-ID"] == "req-celery-42"

    def ping_line():
        return [
            line
            for line in _log_lines(log_path)
            if line.get("message") == "ping" and line.get("note") == "from-a-request"
        ]

    (line,) = wait_for(ping_line, timeout=30)
    assert line["request_id"] == "req-celery-42"
    assert line["logger"] == "ticketing.tasks"


def test_periodic_short_tasks_go_to_the_ticks_queue_and_expire():
    # Behind slow payment callbacks on one worker the 1 s admission tick waited
    # ~20 s (issue 9): the ticks have their own queue and worker, and a tick
    # that still waits after its interval is dropped, not run late.
    from django.conf import settings

    from ticketing.celery import app

    router = app.amqp.Router()
    default = app.conf.task_default_queue
    for name in ("queueing.tasks.admission_tick", "orders.tasks.sweep_expired_holds"):
        assert router.route({}, name)["queue"].name == f"{default}-ticks"
        entry = next(e for e in app.conf.beat_schedule.values() if e["task"] == name)
        assert 0 < entry["options"]["expires"] <= 2 * entry["schedule"]
    assert router.route({}, "ticketing.outbox_deliver")["queue"].name == default
    assert "queueing.tasks.admission_tick" in settings.CELERY_TICKS_TASKS


def test_the_launcher_runs_a_worker_for_each_queue():
    from ticketing.launcher import celery_workers

    workers = celery_workers({"CELERY_QUEUE": "kassa-x"}, loglevel="INFO", concurrency=4)
    main, ticks = workers["worker"], workers["ticks"]
    assert main[main.index("-Q") + 1] == "kassa-x"
    assert main[main.index("--concurrency") + 1] == "4"
    assert main[main.index("--pool") + 1] == "threads"  # callbacks wait on HTTP
    assert ticks[ticks.index("-Q") + 1] == "kassa-x-ticks"
    assert ticks[ticks.index("--pool") + 1] == "solo"
    assert main[main.index("-n") + 1] != ticks[ticks.index("-n") + 1]
