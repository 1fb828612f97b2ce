"""Hold creation under a crowd: N buyer processes racing for M seats over HTTP.

    .venv/bin/python bench/holds.py [--buyers 500] [--seats 1000] [--attempts 4]

What it does (BENCH.md): starts the embedded Postgres/Redis (ticketing.launcher),
migrates, builds a fresh event of its own (one seated section, rows of 50,
one standing area), starts gunicorn (3 sync workers) on a free port with the
project's gunicorn settings, and a second gunicorn with a bare no-op Django
view (no middleware) for the ceiling. Then the same crowd of buyer processes
hits each: the no-op first, then POST /api/v1/holds/ (explicit seats, 1-4
random seats, mixed with 20 % best-available pairs), each buyer up to
--attempts requests. Prints req/s, holds/s, p50/p95/p99, the ratio to the
no-op, the raw conditional-UPDATE rate from pgbench (same statement shape),
and the correctness audit from the database (must all be 0). Stops itself:
every request has a timeout and the whole run a deadline; servers are
stopped in `finally`.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing as mp
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

REQUEST_TIMEOUT = 30.0


# --- setup -----------------------------------------------------------------


def make_event(seats: int, standing: int) -> tuple[int, str, list[int], int]:
    """A fresh event: `seats` seats in rows of 50 (front rows best) + a standing area.

    Built by events.factories.event_build, the builder the tests use; returns
    (event id, slug, event-seat ids in seat order, the standing section's id).
    """
    from events.factories import event_build
    from events.models import EventSeat, Section

    tag = f"bench-{int(time.time())}-{random.randrange(10**6)}"
    event = event_build(
        seats=seats,
        per_row=50,
        standing=standing,
        standing_name="Floor",
        price="15000",
        slug=tag,
        title=tag,
        channels=["web"],
        opened_ago=timedelta(minutes=5),
        closes_in=timedelta(hours=2),
    )
    stock = EventSeat.objects.filter(event=event).order_by("seat_id")
    seat_ids = stock.values_list("id", flat=True)
    floor = Section.objects.get(venue=event.venue, kind=Section.Kind.STANDING)
    return event.pk, event.slug, list(seat_ids), floor.pk


def audit(event_id: int) -> dict[str, int]:
    """Correctness after the run: every figure must be 0."""
    from django.db import connection

    checks = {
        # A seat listed by two live holds.
        "seats_in_two_active_holds": """
            SELECT count(*) FROM (
              SELECT seat FROM orders_hold h, jsonb_array_elements(h.seat_ids) seat
              WHERE h.event_id = %s AND h.status = 'active' AND h.expires_at > now()
              GROUP BY seat HAVING count(*) > 1) x""",
        # A live hold that does not own all the seats it lists.
        "active_holds_missing_seats": """
            SELECT count(*) FROM orders_hold h
            WHERE h.event_id = %s AND h.status = 'active' AND jsonb_array_length(h.seat_ids) <>
              (SELECT count(*) FROM events_eventseat es
               WHERE es.hold_id = h.id AND es.status = 'held')""",
        # A held seat whose hold does not list it.
        "held_seats_without_their_hold": """
            SELECT count(*) FROM events_eventseat es
            LEFT JOIN orders_hold h ON h.id = es.hold_id
            WHERE es.event_id = %s AND es.status = 'held'
              AND (h.id IS NULL OR NOT h.seat_ids @> to_jsonb(es.id))""",
        "standing_over_capacity": """
            SELECT count(*) FROM events_standingarea
            WHERE event_id = %s AND held + sold > capacity""",
        "standing_held_mismatch": """
            SELECT count(*) FROM events_standingarea a
            WHERE a.event_id = %s AND a.held <> (
              SELECT coalesce(sum(hs.quantity), 0) FROM orders_holdstanding hs
              JOIN orders_hold h ON h.id = hs.hold_id
              WHERE hs.area_id = a.id AND h.status = 'active')""",
    }
    result = {}
    with connection.cursor() as cursor:
        for name, sql in checks.items():
            cursor.execute(sql, [event_id])
            result[name] = cursor.fetchone()[0]
    return result


# --- the crowd -------------------------------------------------------------


def request(port: int, method: str, path: str, body: dict | None = None) -> tuple[int, float]:
    started = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT)
    try:
        payload = json.dumps(body) if body is not None else None
        headers = {"Content-Type": "application/json"} if body is not None else {}
        conn.request(method, path, body=payload, headers=headers)
        response = conn.getresponse()
        response.read()
        status = response.status
    except OSError:
        status = 0
    finally:
        conn.close()
    return status, time.perf_counter() - started


def buyer(i, port, mode, slug, seat_ids, attempts, go, results):
    rng = random.Random(i)
    go.wait()
    out = []
    for _ in range(attempts):
        if mode == "noop":
            out.append(request(port, "GET", "/noop/"))
            continue
        if rng.random() < 0.2:
            body = {"event": slug, "best_available": {"quantity": 2, "together": True}}
        else:
            body = {"event": slug, "seats": rng.sample(seat_ids, rng.randint(1, 4))}
        out.append(request(port, "POST", "/api/v1/holds/", body))
    results.put(out)


def crowd_run(*, target, args: tuple, buyers: int, deadline: float, meter=None):
    """Fork `buyers` processes of `target(i, *args, go, results)`, release them
    at once, gather what each puts on `results` (a list of samples) until the
    deadline; (samples, elapsed seconds[, the meter's reading]). `meter` (a
    bench.common.CpuMeter) starts at the release and stops once every buyer
    is reaped, so their CPU counts as the driver's."""
    ctx = mp.get_context("fork")
    go = ctx.Event()
    results = ctx.Queue()
    procs = [ctx.Process(target=target, args=(i, *args, go, results)) for i in range(buyers)]
    for p in procs:
        p.start()
    time.sleep(1.0)  # let every process reach the start line
    if meter is not None:
        meter.start()
    started = time.perf_counter()
    go.set()
    samples: list = []
    for _ in procs:
        try:
            samples.extend(
                results.get(timeout=max(1.0, deadline - (time.perf_counter() - started)))
            )
        except Exception:
            break
    elapsed = time.perf_counter() - started
    for p in procs:
        p.join(1)
        if p.is_alive():
            p.kill()
    if meter is not None:
        return samples, elapsed, meter.stop()
    return samples, elapsed


def crowd(*, port, mode, buyers, attempts, slug="", seat_ids=(), deadline=120.0):
    return crowd_run(
        target=buyer, args=(port, mode, slug, list(seat_ids), attempts), buyers=buyers,
        deadline=deadline,
    )  # fmt: skip


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))]


def report(name: str, samples, elapsed) -> float:
    lat = [t * 1000 for _, t in samples]
    statuses: dict[int, int] = {}
    for status, _ in samples:
        statuses[status] = statuses.get(status, 0) + 1
    rate = len(samples) / elapsed
    print(
        f"{name:<8} {len(samples):>6} req in {elapsed:6.2f} s = {rate:8.1f} req/s   "
        f"p50 {percentile(lat, 50):7.1f} ms  p95 {percentile(lat, 95):7.1f} ms  "
        f"p99 {percentile(lat, 99):7.1f} ms   statuses {dict(sorted(statuses.items()))}"
    )
    return rate


# --- servers and pgbench ----------------------------------------------------


def start_gunicorn(app: str, port: int, log_path: Path) -> subprocess.Popen:
    log = log_path.open("wb")
    proc = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"), app,
            "--config", "python:ticketing.gunicorn_conf",
            "--bind", f"127.0.0.1:{port}", "--workers", "3",
        ],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"gunicorn {app} exited; see {log_path}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return proc
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"gunicorn {app} did not start; see {log_path}")


def stop(proc: subprocess.Popen | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def pgbench_ceiling(seat_ids: list[int], event_id: int, seconds: int = 5) -> float | None:
    """Raw conditional UPDATE of two seats (the hold statement's shape), 16 clients.

    Runs on a separate bench event; held_until is set in the past so every
    transaction finds its two rows takeable again (rowcount 2 each time).
    """
    from django.db import connection

    s = connection.settings_dict
    script = (
        f"\\set a random({min(seat_ids)}, {max(seat_ids) - 1})\n"
        "UPDATE events_eventseat SET status = 'held', hold_id = gen_random_uuid(), "
        "held_until = now() - interval '1 second' "
        f"WHERE event_id = {event_id} AND id IN (:a, :a + 1) "
        "AND (status = 'available' OR (status = 'held' AND held_until < now()));\n"
    )
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as fh:
        fh.write(script)
    env = {**os.environ, "PGPASSWORD": s.get("PASSWORD") or ""}
    try:
        out = subprocess.run(
            ["pgbench", "-n", "-c", "16", "-j", "2", "-T", str(seconds), "-f", fh.name,
             "-h", s["HOST"], "-p", str(s["PORT"] or 5432), "-U", s["USER"], s["NAME"]],
            capture_output=True, text=True, env=env, timeout=seconds + 30, check=False,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        return None
    finally:
        os.unlink(fh.name)
    for line in out.stdout.splitlines():
        if line.startswith("tps ="):
            return float(line.split()[2])
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--buyers", type=int, default=500)
    parser.add_argument("--seats", type=int, default=1000)
    parser.add_argument("--attempts", type=int, default=4, help="hold requests per buyer")
    parser.add_argument("--deadline", type=float, default=180.0, help="seconds per phase")
    args = parser.parse_args()

    from bench.common import django_in_process, free_port
    from ticketing.launcher import DATA

    # Every buyer process calls from 127.0.0.1: django_in_process lifts the
    # per-IP budget, else most hold requests would be 429s.
    services = django_in_process()
    from django.db import connections

    event_id, slug, seat_ids, _ = make_event(args.seats, standing=200)
    pg_event, _, pg_seats, _ = make_event(200, standing=10)
    connections.close_all()  # no shared socket in the forked buyers

    log_dir = DATA / "bench"
    log_dir.mkdir(parents=True, exist_ok=True)
    noop = web = None
    try:
        noop_port, web_port = free_port(), free_port()
        noop = start_gunicorn("bench.noop_app:application", noop_port, log_dir / "noop.log")
        web = start_gunicorn("ticketing.wsgi", web_port, log_dir / "web.log")
        print(
            f"buyers={args.buyers} processes, seats={args.seats}, attempts/buyer={args.attempts}, "
            "gunicorn 3 sync workers, 2 cores shared with the load generator"
        )
        request(web_port, "GET", "/healthz")  # warm the workers' imports
        noop_samples, noop_elapsed = crowd(
            port=noop_port, mode="noop", buyers=args.buyers, attempts=args.attempts,
            deadline=args.deadline,
        )  # fmt: skip
        noop_rate = report("no-op", noop_samples, noop_elapsed)
        stop(noop)
        noop = None
        hold_samples, hold_elapsed = crowd(
            port=web_port, mode="holds", buyers=args.buyers, attempts=args.attempts,
            slug=slug, seat_ids=seat_ids, deadline=args.deadline,
        )  # fmt: skip
        hold_rate = report("holds", hold_samples, hold_elapsed)
        created = sum(1 for status, _ in hold_samples if status == 201)
        errors = sum(1 for status, _ in hold_samples if status == 0 or status >= 500)
        print(
            f"holds created {created} = {created / hold_elapsed:.1f} holds/s; "
            f"hold req/s / no-op req/s = {hold_rate / noop_rate:.2f}; 5xx/transport errors {errors}"
        )
    finally:
        stop(noop)
        stop(web)
    tps = pgbench_ceiling(pg_seats, pg_event)
    print(f"pgbench conditional UPDATE of 2 seats, 16 clients: {tps and round(tps)} tx/s")
    from orders.models import Hold

    held = Hold.objects.filter(event_id=event_id, status="active")
    seats_held = sum(len(h.seat_ids) for h in held)
    print(f"active holds {held.count()}, seats held {seats_held} of {args.seats}")
    result = audit(event_id)
    print("audit:", json.dumps(result))
    services.stop()
    return 0 if not any(result.values()) and errors == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
