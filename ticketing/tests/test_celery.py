from __future__ import annotations

import json

from django.http import HttpResponse
from django.test import RequestFactory

from conftest import wait_for
from ticketing.middleware import RequestIdMiddleware
from ticketing.tasks import ping


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
