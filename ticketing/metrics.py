"""Prometheus metrics: what kassa counts, and the `/metrics` endpoint.

Names are a contract (dashboards and alerts use them); add, never rename.

    metric                                  type       labels                   updated by
    kassa_http_request_duration_seconds     histogram  view, method, status     MetricsMiddleware
    kassa_http_request_cpu_seconds_total    counter    view, method             MetricsMiddleware
    kassa_holds_total                       counter    outcome                  holds
    kassa_orders_total                      counter    outcome                  orders
    kassa_payments_total                    counter    outcome                  payments
    kassa_queue_waiting                     gauge      room                     admission tick
    kassa_queue_admitted                    gauge      room                     admission tick
    kassa_queue_active                      gauge      room                     admission tick
    kassa_outbox_total                      counter    kind, outcome            ticketing.outbox

Other apps update them with one line, e.g.
`transaction.on_commit(lambda: metrics.HOLDS.labels(outcome="created").inc())`,
`metrics.PAYMENTS.labels(outcome="succeeded").inc()`, and the tick with
`metrics.queue_room_observe(room=slug, waiting=..., admitted=..., active=...)`.
`status` is the class (`2xx`, `4xx`, ...).

Outcomes are short fixed words (`created`, `conflict`, `limit`, `pass_required`,
`expired`, `paid`, `succeeded`, `failed`, `refunded`, ...), never ids: every
label value is a time series. Counters are incremented after the transaction
commits (`transaction.on_commit`), so a rolled-back hold is not counted.
`view` is the URL pattern's name (`resolver_match.view_name`), so the number
of series stays bounded; unmatched URLs share `view="<unresolved>"`.

Multiprocess: gunicorn and Celery run many processes, each with its own
counters. When `PROMETHEUS_MULTIPROC_DIR` is set (the launcher creates it empty
at start), every process writes its values to memory-mapped files there and
`/metrics` adds them up (`gunicorn_conf.child_exit` marks dead workers). Gauges
keep the most recent value written by any process.

`/metrics` answers only to a direct request from the loopback address (not
proxied: no `X-Forwarded-For` / `X-Real-IP`) or to `Authorization: Bearer
<METRICS_TOKEN>`; anyone else gets 403.
"""

from __future__ import annotations

import hmac
import os
import time
from functools import wraps

from django.conf import settings
from django.db import transaction
from django.http import HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

from ticketing.errors import KassaError

# Hold p99 target is 150 ms: buckets are dense around it.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

REQUEST_LATENCY = Histogram(
    "kassa_http_request_duration_seconds",
    "Time spent answering a request, by URL pattern name, method and status class.",
    ["view", "method", "status"],
    buckets=LATENCY_BUCKETS,
)
# CPU, not wall time: the worker's own processor time per request (what the
# benchmarks turn into CPU-ms per buyer by endpoint; waits on Postgres, Redis
# or the network are not in it, their servers' CPU is theirs).
REQUEST_CPU = Counter(
    "kassa_http_request_cpu_seconds",
    "CPU time of the serving thread while answering requests, by URL pattern name and method.",
    ["view", "method"],
)
HOLDS = Counter("kassa_holds_total", "Hold attempts by outcome.", ["outcome"])
ORDERS = Counter("kassa_orders_total", "Order state changes by outcome.", ["outcome"])
PAYMENTS = Counter("kassa_payments_total", "Payment results by outcome.", ["outcome"])
# Outcomes `done`, `retry`, `given_up`; kinds are the outbox's fixed names
# ("payments.refund"), never ids. Alert on any `given_up`: that work waits for staff.
OUTBOX = Counter(
    "kassa_outbox_total", "Outbox message runs by kind and outcome.", ["kind", "outcome"]
)
QUEUE_WAITING = Gauge(
    "kassa_queue_waiting",
    "Visitors in the waiting room not yet admitted.",
    ["room"],
    multiprocess_mode="mostrecent",
)
QUEUE_ADMITTED = Gauge(
    "kassa_queue_admitted",
    "Visitors admitted so far (the serving counter).",
    ["room"],
    multiprocess_mode="mostrecent",
)
QUEUE_ACTIVE = Gauge(
    "kassa_queue_active",
    "Admitted visitors currently shopping (passes in use).",
    ["room"],
    multiprocess_mode="mostrecent",
)

_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}
_LOOPBACK = {"127.0.0.1", "::1"}


def queue_room_observe(*, room: str, waiting: int, admitted: int, active: int) -> None:
    """Publish one room's live counters (called by the admission tick)."""
    QUEUE_WAITING.labels(room=room).set(waiting)
    QUEUE_ADMITTED.labels(room=room).set(admitted)
    QUEUE_ACTIVE.labels(room=room).set(active)


def counted(counter: Counter, *, success: str | None = None):
    """Count a service's outcomes: the returned word (or `success`) once the
    transaction commits, or the KassaError's code when it refuses.

        @counted(metrics.HOLDS, success="created")
        def hold_create(...): ...
    """

    def decorate(service):
        @wraps(service)
        def wrapper(*args, **kwargs):
            try:
                result = service(*args, **kwargs)
            except KassaError as exc:
                counter.labels(outcome=exc.code).inc()
                raise
            outcome = success or (result if isinstance(result, str) else "ok")
            transaction.on_commit(lambda: counter.labels(outcome=outcome).inc())
            return result

        return wrapper

    return decorate


class MetricsMiddleware:
    """Observes every request's latency. Kept cheap: one clock read each side,
    labels from what Django already resolved."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started, cpu = time.perf_counter(), time.thread_time()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        view = (match.view_name or match.url_name or "<unnamed>") if match else "<unresolved>"
        method = request.method if request.method in _METHODS else "OTHER"
        REQUEST_LATENCY.labels(
            view=view, method=method, status=f"{response.status_code // 100}xx"
        ).observe(time.perf_counter() - started)
        REQUEST_CPU.labels(view=view, method=method).inc(time.thread_time() - cpu)
        return response


def _allowed(request) -> bool:
    token = getattr(settings, "METRICS_TOKEN", "")
    if token:
        header = request.headers.get("Authorization", "")
        if header.startswith("Bearer ") and hmac.compare_digest(
            header[7:].strip().encode(), token.encode()
        ):
            return True
    proxied = "X-Forwarded-For" in request.headers or "X-Real-IP" in request.headers
    return request.META.get("REMOTE_ADDR") in _LOOPBACK and not proxied


def _registry():
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return registry
    return REGISTRY


def request_latency_totals() -> dict[str, dict]:
    """Per view, summed over every process (multiprocess mode) since start:
    {"count", "errors" (5xx), "buckets": [(upper bound, cumulative count)]}.
    What the on-sale console turns into a 5xx rate and a p95 over its window
    (by the difference of two readings: counters only grow)."""
    out: dict[str, dict] = {}
    for family in _registry().collect():
        if family.name != "kassa_http_request_duration_seconds":
            continue
        for sample in family.samples:
            if sample.name != "kassa_http_request_duration_seconds_bucket":
                continue
            view = sample.labels["view"]
            entry = out.setdefault(view, {"count": 0.0, "errors": 0.0, "buckets": {}})
            le = float(sample.labels["le"])
            entry["buckets"][le] = entry["buckets"].get(le, 0.0) + sample.value
            if le == float("inf"):
                entry["count"] += sample.value
                if sample.labels["status"] == "5xx":
                    entry["errors"] += sample.value
    for entry in out.values():
        entry["buckets"] = sorted(entry["buckets"].items())
    return out


def request_cpu_totals() -> dict[str, float]:
    """CPU seconds per "METHOD view", summed over every process since start."""
    out: dict[str, float] = {}
    for family in _registry().collect():
        if family.name != "kassa_http_request_cpu_seconds":
            continue
        for sample in family.samples:
            if sample.name.endswith("_total"):
                key = f"{sample.labels['method']} {sample.labels['view']}"
                out[key] = out.get(key, 0.0) + sample.value
    return out


@never_cache
def metrics_view(request):
    """Prometheus text exposition of every process's metrics."""
    if not _allowed(request):
        return JsonResponse(
            {"error": {"code": "forbidden", "message": "metrics are not public", "details": {}}},
            status=403,
        )
    return HttpResponse(generate_latest(_registry()), content_type=CONTENT_TYPE_LATEST)
