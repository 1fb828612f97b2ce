"""In-process cost of the hot paths: SQL queries and latency per request.

    .venv/bin/python bench/hot_paths.py [--rounds 60]

Starts the embedded Postgres/Redis (ticketing.launcher), migrates, builds a
fresh event of its own (bench.holds.make_event: a web phase open now, no
waiting room) and drives Django's test client through the whole middleware
stack and DRF, with no network and no gunicorn: for each round a new
cookie-less buyer (as in bench/holds.py) creates a hold (explicit seats,
best-available pair or standing), an order for the seat hold, starts the
payment, posts the gateway's signed success callback and reads the paid
order and its tickets. The queue status
path is measured with a token from a real waiting room. Prints, per
endpoint, the SQL statements of one request (CaptureQueriesContext) and the
p50/p95 latency over the rounds, plus the bare /healthz for comparison.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _ms(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    return f"p50 {statistics.median(ordered) * 1000:6.2f} ms  p95 {p95 * 1000:6.2f} ms"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=60)
    parser.add_argument("--show-sql", action="store_true", help="print the SQL of each path")
    args = parser.parse_args()

    from bench.common import django_in_process

    services = django_in_process()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from bench.holds import make_event
    from payments.sandbox import SIGNATURE_HEADER, sign

    _event_id, slug, seat_ids, floor_id = make_event(args.rounds * 4 + 200, standing=10_000)
    free = iter(reversed(seat_ids))  # best-available takes the front rows
    timings: dict[str, list[float]] = {}
    queries: dict[str, int] = {}
    sql: dict[str, list[str]] = {}
    # Django's own CPU per request (this thread; Postgres's and Redis's are not in it).
    cpus: dict[str, list[float]] = {}

    def call(name: str, client: Client, method: str, path: str, body=None, expect=200, **headers):
        send = getattr(client, method)
        kwargs = {"content_type": "application/json"} if body is not None else {}
        with CaptureQueriesContext(connection) as ctx:
            started, cpu = time.perf_counter(), time.thread_time()
            response = send(path, data=json.dumps(body) if body is not None else None,
                            headers=headers, **kwargs)  # fmt: skip
            elapsed = time.perf_counter() - started
            cpus.setdefault(name, []).append(time.thread_time() - cpu)
        if response.status_code != expect:
            raise SystemExit(f"{name}: {response.status_code} {response.content[:300]!r}")
        timings.setdefault(name, []).append(elapsed)
        queries[name] = len(ctx.captured_queries)
        sql[name] = [q["sql"] for q in ctx.captured_queries]
        return response.json() if response.get("Content-Type") == "application/json" else None

    for i in range(args.rounds):
        call("GET /healthz", Client(), "get", "/healthz")
        buyer = Client()
        hold = call(
            "POST holds/ (2 seats)", buyer, "post", "/api/v1/holds/",
            {"event": slug, "seats": [next(free), next(free)]}, expect=201,
        )  # fmt: skip
        call(
            "POST holds/ (best 2)", Client(), "post", "/api/v1/holds/",
            {"event": slug, "best_available": {"quantity": 2}}, expect=201,
        )  # fmt: skip
        call(
            "POST holds/ (standing 2)", Client(), "post", "/api/v1/holds/",
            {"event": slug, "standing": {"section": floor_id, "quantity": 2}}, expect=201,
        )  # fmt: skip
        idem = {"Idempotency-Key": uuid.uuid4().hex}
        call(
            "POST holds/ (+Idempotency-Key)", Client(), "post", "/api/v1/holds/",
            {"event": slug, "seats": [next(free)]}, expect=201, **idem,
        )  # fmt: skip
        order = call(
            "POST orders/", buyer, "post", "/api/v1/orders/",
            {"hold": hold["id"], "email": f"b{i}@example.com", "name": "Bench"}, expect=201,
        )  # fmt: skip
        token = {"X-Order-Token": order["access_token"]}
        payment = call(
            "POST orders/{id}/payments/", buyer, "post", f"/api/v1/orders/{order['id']}/payments/",
            {}, expect=201, **token,
        )  # fmt: skip
        from payments.models import Payment

        paid = Payment.objects.get(pk=payment["payment_id"])
        # The callback the sandbox acquirer sends for a charged card.
        body = {
            "payment_id": str(paid.pk),
            "status": "succeeded",
            "amount": str(paid.amount),
            "currency": paid.currency,
            "card": {"brand": "visa", "bin": "440043", "last4": "0001"},
            "event_id": uuid.uuid4().hex,
        }
        raw = json.dumps(body)
        with CaptureQueriesContext(connection) as ctx:
            started, cpu = time.perf_counter(), time.thread_time()
            response = Client().post(
                "/api/v1/payments/sandbox/callback/", data=raw, content_type="application/json",
                headers={SIGNATURE_HEADER: sign(raw.encode())},
            )  # fmt: skip
            timings.setdefault("POST payments/sandbox/callback/", []).append(
                time.perf_counter() - started
            )
            cpus.setdefault("POST payments/sandbox/callback/", []).append(time.thread_time() - cpu)
        assert response.status_code == 200 and response.json()["result"] == "paid", response
        queries["POST payments/sandbox/callback/"] = len(ctx.captured_queries)
        sql["POST payments/sandbox/callback/"] = [q["sql"] for q in ctx.captured_queries]
        # What the buyer reads next: the order (the return page's answer) and its tickets.
        call("GET orders/{id}/", buyer, "get", f"/api/v1/orders/{order['id']}/", **token)
        call(
            "GET orders/{id}/tickets/", buyer, "get", f"/api/v1/orders/{order['id']}/tickets/",
            **token,
        )  # fmt: skip

    # The queue status path: a second event behind a live waiting room (mode on, open).
    from datetime import timedelta

    from django.utils import timezone

    from events.models import Event
    from queueing.services import room_create, room_push

    q_event_id, q_slug, _seats, _floor = make_event(10, standing=10)
    room = room_create(
        event=Event.objects.get(pk=q_event_id), sale_opens_at=timezone.now() - timedelta(hours=1)
    )
    room_push(room=room)
    for _ in range(args.rounds):
        visitor = Client()
        joined = call(
            "POST queue/join/", visitor, "post", f"/api/v1/events/{q_slug}/queue/join/", {}
        )
        call("GET queue/status/", visitor, "get", "/api/v1/queue/status/",
             **{"X-Queue-Token": joined["token"]})  # fmt: skip

    print(f"in-process, Django test client, {args.rounds} rounds, new buyer per round")
    print(f"{'endpoint':<34} {'SQL':>4}   latency                        Django CPU")
    for name, samples in timings.items():
        cpu_p50 = statistics.median(cpus[name]) * 1000
        print(f"{name:<34} {queries[name]:>4}   {_ms(samples)}  p50 {cpu_p50:6.2f} ms")
        if args.show_sql:
            for statement in sql[name]:
                print("      ", statement[:160])
    services.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
