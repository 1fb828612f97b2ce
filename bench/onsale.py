"""The headline benchmark: sell out the stadium through the waiting room.

    python bench/onsale.py                      # 28,000 places, 40,000 visitors
    python bench/onsale.py --places 2000 --visitors 2500   # `make bench-smoke`

With no DATABASE_URL / REDIS_URL it starts the embedded Postgres and Redis
(ticketing.launcher.ensure_services; the bench uses Redis db 2, flushed). It
creates a FRESH database `kassa_bench` on that server (dropped and re-created:
`make run`'s data is untouched), migrates it, loads the demo stadium scaled to
`--places` (`manage.py demo_load --places N`), opens the general web sale
`--prequeue` seconds from now behind the waiting room, measures the no-op
Django ceiling (bench/noop_app.py, same gunicorn settings, same client), then
starts gunicorn (`--workers`), a Celery worker and beat, and nginx
(deploy/nginx.conf) in front, and lets `--visitors` simulated buyers
(bench/buyers.py) loose on 127.0.0.1 through nginx.

It prints one summary (buyers, time to sell out, tickets/s, requests/s and
p50/p95/p99 per endpoint, errors by status) and the correctness audit
(bench/audit.py) from the database afterwards; writes
bench/results/onsale-<time>.json and a PNG chart of the queue, admissions and
sales over time. Exit status: 0 when every audit line is 0 and something was
sold; 1 when the audit found a violation; 2 when the run sold nothing or the
stack did not come up.

`--target URL --slug SLUG` drives an already running server instead (no stack
started; the audit runs only with `--audit-database-url`). bench/fake_server.py
is such a target, for testing the driver itself.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

# Run as a script, bench/ itself would be sys.path[0] and its modules would
# shadow the standard library's (a bench/queue.py hides `queue`): the
# repository root takes its place.
if sys.path[0] == str(Path(__file__).resolve().parent):
    sys.path.pop(0)
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import buyers
from bench.audit import audit, stock
from bench.common import (
    RESULTS,
    ROOT,
    Client,
    CpuMeter,
    Processes,
    Recorder,
    free_port,
    gunicorn_argv,
    latency_summary,
    log,
    nginx_start,
    noop_ceiling,
    run_loop,
    server_latency,
    venv_bin,
    wait_http,
)
from ticketing.launcher import celery_workers

BENCH_DB = "kassa_bench"
BENCH_REDIS_DB = 2

# Run inside Django (manage.py shell -c) against the bench database, before
# the web/worker/beat processes start: open the general web sale at
# BENCH_OPEN_AT behind the waiting room (created or updated through the
# queueing services, so its live settings reach Redis), and print the event.
PREPARE = r"""
import json, os
from datetime import datetime, timedelta
from django.utils import timezone
from events.models import Event

opens = datetime.fromisoformat(os.environ["BENCH_OPEN_AT"])
slug = os.environ.get("BENCH_SLUG") or None
events = list(Event.objects.filter(slug=slug) if slug else Event.objects.all())
if not events:
    raise SystemExit("no event was loaded")
def places(e):
    return e.seats.count() + sum(a.capacity for a in e.standing_areas.all())
event = max(events, key=places)
event.status = "on_sale"
event.save(update_fields=["status"])
web = [p for p in event.phases.all() if p.allows_channel("web")]
if not web:
    raise SystemExit(f"event {event.slug} has no sale phase for the web channel")
for p in web:
    p.starts_at, p.ends_at = opens, opens + timedelta(days=1)
    p.per_buyer_limit = max(p.per_buyer_limit, 4)
    p.requires_waiting_room = True
    p.access_codes = []
    p.save(update_fields=["starts_at", "ends_at", "per_buyer_limit", "requires_waiting_room",
                          "access_codes"])
changes = {"mode": "on", "prequeue_opens_at": timezone.now(), "sale_opens_at": opens,
           "admission_rate_per_minute": int(os.environ["BENCH_RATE"]),
           "max_active_shoppers": int(os.environ["BENCH_MAX_ACTIVE"]),
           "paused": False, "draining": False}
from queueing import services as queue_services
from queueing.models import WaitingRoom
known = {f.name for f in WaitingRoom._meta.concrete_fields}
changes = {k: v for k, v in changes.items() if k in known}
room = WaitingRoom.objects.filter(event=event).first()
if room is None:
    room = queue_services.room_create(event=event, **changes)
else:
    room = queue_services.room_update(room=room, changes=changes)
from django.conf import settings
print("BENCH_EVENT=" + json.dumps({"id": event.id, "slug": event.slug, "capacity": places(event),
                                   "draw_lead": settings.QUEUE_DRAW_LEAD_SECONDS,
                                   "room": {k: str(v) for k, v in changes.items()}}))
"""
# Seconds from preparing the sale until the web processes answer (the
# pre-queue of --prequeue seconds counts from then).
STARTUP_ALLOWANCE = 15


# --- the database -------------------------------------------------------------------


def fresh_database(admin_url: str, name: str) -> str:
    """Drop and re-create `name` on the server of `admin_url`; its URL."""
    import psycopg

    with psycopg.connect(admin_url, dbname="postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    parts = urlsplit(admin_url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def manage(*args: str, env: dict[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-15:])
        raise SystemExit(f"manage.py {args[0]} failed:\n{tail}")
    return done.stdout


class StockReader:
    """The database's stock counts, once a second for the sampler, over one
    connection kept open (a new one each second cost the driver a connect
    and Postgres a backend start); re-opened after an error."""

    def __init__(self, url: str, event_id: int) -> None:
        self.url, self.event_id = url, event_id
        self._conn = None

    def __call__(self) -> dict[str, int]:
        import psycopg

        if self._conn is None or self._conn.closed:
            self._conn = psycopg.connect(self.url, autocommit=True)
        try:
            with self._conn.cursor() as cursor:
                return stock(cursor, event_id=self.event_id)
        except psycopg.Error:
            self.close()
            raise

    def close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.close()
            self._conn = None


def db_audit(url: str, event_id: int) -> dict[str, int]:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn, conn.cursor() as cursor:
        return audit(cursor, event_id=event_id)


# --- the run ------------------------------------------------------------------------


async def sampler(
    run: buyers.Run, *, t0: float, timeline: list, db_url: str | None, event_id: int | None
) -> None:
    """Every second: the public state (as any visitor sees it) and the
    database's stock counts. Sets `run.stock_gone` when nothing is left to
    buy but the walk-aways' holds that will only expire later."""
    client = Client(run.client.base_url, Recorder(), connections=2)
    reader = StockReader(db_url, event_id) if db_url and event_id is not None else None
    try:
        while True:
            r = await client.request(
                "GET", f"{buyers.API}/events/{run.sale.slug}/queue/state/", endpoint="sampler"
            )
            state = r.json() if r.status == 200 and isinstance(r.json(), dict) else {}
            point = {
                "t": round(time.monotonic() - t0, 2),
                "state": state.get("state"),
                "admitted": state.get("serving"),
                "tickets_bought": run.tickets,
            }
            if isinstance(state.get("tail"), int) and isinstance(state.get("serving"), int):
                point["waiting"] = max(0, state["tail"] - state["serving"])
            if reader is not None:
                with contextlib.suppress(Exception):
                    point.update(await asyncio.to_thread(reader))
            timeline.append(point)
            gone = point.get("available") == 0 and point.get("held", 0) <= run.walkaway_places
            # With a database its counts decide; the room's own "sold out"
            # may be early (it can reopen) and is only recorded.
            room_done = state.get("state") in buyers.CLOSED_STATES or (
                not db_url and state.get("state") == buyers.SOLD_OUT
            )
            if gone or room_done:
                run.stock_gone.set()
            await asyncio.sleep(1.0)
    finally:
        await client.close()
        if reader is not None:
            await asyncio.to_thread(reader.close)


async def drive(
    *,
    base_url: str,
    sale: buyers.Sale,
    visitors: int,
    seed: int,
    duration_limit: float,
    db_url: str | None = None,
    event_id: int | None = None,
    connections: int = 512,
) -> dict:
    """Let the visitors loose and wait until every one is done or the limit."""
    recorder = Recorder()
    client = Client(base_url, recorder, connections=connections)
    state_client = Client(base_url, recorder, connections=max(64, connections // 4))
    t0 = time.monotonic()
    run = buyers.Run(
        client=client,
        sale=sale,
        seed=seed,
        deadline=t0 + duration_limit,
        state_client=state_client,
    )
    rng = random.Random(seed)
    times = buyers.arrivals(visitors, rng=rng, start=t0, open_at=sale.open_at)
    timeline: list[dict] = []
    sampling = asyncio.create_task(
        sampler(run, t0=t0, timeline=timeline, db_url=db_url, event_id=event_id)
    )
    tasks = [asyncio.create_task(buyers.visitor(run, i, at)) for i, at in enumerate(times)]
    _done, pending = await asyncio.wait(tasks, timeout=duration_limit + 90)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    failures = [t.exception() for t in tasks if not t.cancelled() and t.exception()]
    sampling.cancel()
    await asyncio.gather(sampling, return_exceptions=True)
    await client.close()
    await state_client.close()
    end = time.monotonic()
    if failures:
        log(f"{len(failures)} visitors crashed; first: {failures[0]!r}")
    return summarise(
        run=run,
        recorder=recorder,
        timeline=timeline,
        t0=t0,
        end=end,
        cancelled=len(pending),
        crashed=len(failures),
        crash_example=repr(failures[0]) if failures else None,
    )


def _first(timeline: list[dict], predicate) -> float | None:
    return next((p["t"] for p in timeline if predicate(p)), None)


def summarise(
    *,
    run: buyers.Run,
    recorder: Recorder,
    timeline: list[dict],
    t0: float,
    end: float,
    cancelled: int,
    crashed: int,
    crash_example: str | None,
) -> dict:
    opened = run.sale.open_at - t0
    capacity = run.sale.capacity
    sold_out = _first(timeline, lambda p: p.get("available") == 0 and p.get("held") == 0)
    if sold_out is None and not any("available" in p for p in timeline):
        # No database to count (a --target run): the room's own announcement.
        sold_out = _first(timeline, lambda p: p.get("state") == buyers.SOLD_OUT)
    room_sold_out = next((p for p in timeline if p.get("state") == buyers.SOLD_OUT), None)
    stock_gone = _first(timeline, lambda p: p.get("available") == 0)
    sold_99 = _first(timeline, lambda p: p.get("sold", 0) >= 0.99 * capacity)
    last_paid = max(run.paid_at) - t0 if run.paid_at else None
    selling = (last_paid - opened) if last_paid else None
    return {
        "visitors": None,  # filled in by main()
        "capacity": capacity,
        "buyers": run.buyers,
        "tickets": run.tickets,
        "sold_at_end": timeline[-1].get("sold") if timeline else None,
        "opened_at_s": round(opened, 2),
        "time_to_stock_gone_s": round(stock_gone - opened, 2) if stock_gone else None,
        "time_to_99pct_sold_s": round(sold_99 - opened, 2) if sold_99 else None,
        "time_to_sell_out_s": round(sold_out - opened, 2) if sold_out else None,
        # When the room first told visitors "sold out", and what the database
        # still had then (should be ~0 available: else the room stopped early).
        "room_said_sold_out_s": round(room_sold_out["t"] - opened, 2) if room_sold_out else None,
        "available_when_room_said_sold_out": room_sold_out.get("available")
        if room_sold_out
        else None,
        "tickets_per_s": round(run.tickets / selling, 1) if selling and selling > 0 else None,
        "run_seconds": round(end - t0, 1),
        "requests": recorder.total,
        "requests_per_s": round(recorder.total / (end - t0), 1),
        "endpoints": recorder.report(end - t0),
        # The buyer's three steps that must stay fast, as the driver saw them
        # (every kind of hold together), ms.
        "step_p99_ms": {
            step: latency_summary([x for name in names for x in recorder.samples.get(name, ())])[
                "p99"
            ]
            for step, names in (
                (
                    "hold",
                    [
                        n
                        for n in recorder.samples
                        if n.startswith("holds.") and n != "holds.release"
                    ],
                ),
                ("order", ["orders.create"]),
                ("payment_start", ["payments.start"]),
            )
        },
        "errors_by_status": recorder.errors(),
        "outcomes": dict(sorted(run.outcomes.items())),
        "hold_refusals": dict(sorted(run.refusals.items())),
        "payment_plans": dict(sorted(run.plans.items())),
        "walkaway_places": run.walkaway_places,
        "visitors_cancelled_at_limit": cancelled,
        "visitors_crashed": crashed,
        "crash_example": crash_example,
        "timeline": timeline,
    }


# --- output -------------------------------------------------------------------------


def chart(result: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    timeline = result["timeline"]
    fig, ax = plt.subplots(figsize=(10, 5))
    t = [p["t"] for p in timeline]
    for key, label in (
        ("waiting", "waiting in queue"),
        ("admitted", "admitted (serving)"),
        ("sold", "places sold"),
        ("held", "places held"),
        ("tickets_bought", "tickets bought (driver)"),
    ):
        ys = [p.get(key) if isinstance(p.get(key), int) else math.nan for p in timeline]
        ax.plot(t, ys, label=label)
    ax.axvline(result["opened_at_s"], color="grey", linestyle="--", label="sale opens")
    ax.axhline(result["capacity"], color="black", linewidth=0.5, label="capacity")
    ax.set_xlabel("seconds since start")
    ax.set_ylabel("people / places")
    ax.set_title(f"on-sale: {result['capacity']} places, {result['visitors']} visitors")
    ax.legend(loc="upper left")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def print_summary(result: dict) -> None:
    def line(label: str, value) -> None:
        print(f"  {label:32} {value}")

    print("\n=== kassa on-sale benchmark ===")
    line("places / visitors", f"{result['capacity']} / {result['visitors']}")
    line("gunicorn workers", result.get("workers"))
    line("buyers (paid orders)", result["buyers"])
    line("tickets bought", result["tickets"])
    line("time to stock gone (s)", result["time_to_stock_gone_s"])
    line("time to 99% sold (s)", result["time_to_99pct_sold_s"])
    line("time to sell out (s)", result["time_to_sell_out_s"])
    line(
        "room said sold out (s) / avail.",
        f"{result['room_said_sold_out_s']} / {result['available_when_room_said_sold_out']}",
    )
    line("tickets/s", result["tickets_per_s"])
    line("requests, req/s", f"{result['requests']}, {result['requests_per_s']}")
    if result.get("noop"):
        noop = result["noop"]
        line("no-op Django ceiling req/s", f"{noop['rps']} (p99 {noop['p99']} ms)")
        line("run req/s ÷ no-op req/s", result.get("ratio_to_noop"))
    if cpu := result.get("cpu"):
        parts = ", ".join(f"{k} {v}" for k, v in cpu["by_part"].items())
        line(
            "CPU s busy / capacity",
            f"{cpu['machine_busy_seconds']} / {cpu['machine_capacity_seconds']} "
            f"({parts}, other {cpu['other']})",
        )
        site = sum(v for k, v in cpu["by_part"].items() if k not in ("driver", "sandbox"))
        if result["buyers"]:
            line(
                "CPU ms per buyer",
                f"site {1000 * site / result['buyers']:.0f} (gunicorn, postgres, celery, "
                f"nginx, redis); sandbox acquirer "
                f"{1000 * cpu['by_part'].get('sandbox', 0) / result['buyers']:.0f}; "
                f"driver {1000 * cpu['by_part'].get('driver', 0) / result['buyers']:.0f}",
            )
    print(
        f"\n  {'endpoint':24} {'requests':>9} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} "
        f"{'p99 ms':>8}  statuses"
    )
    for name, e in result["endpoints"].items():
        print(
            f"  {name:24} {e['requests']:>9} {e['rps']:>8} {e['p50']:>8} {e['p95']:>8} "
            f"{e['p99']:>8}  {e['statuses']}"
        )
    if server := result.get("server_latency"):
        print(
            "\n  inside Django (from /metrics; bucket upper bounds, ms; no driver or "
            "accept-queue delay):"
        )
        buyers = max(1, result["buyers"])
        print(
            f"  {'view':40} {'requests':>9} {'p50 <=':>7} {'p95 <=':>7} {'p99 <=':>7} "
            f"{'CPU ms/req':>10} {'CPU ms/buyer':>12}"
        )
        for view, row in sorted(server.items(), key=lambda kv: -kv[1].get("cpu_s", 0)):
            if row["requests"] >= 100 or row.get("cpu_s", 0) * 1000 / buyers >= 0.5:
                cpu_s = row.get("cpu_s", 0.0)
                print(
                    f"  {view[:40]:40} {row['requests']:>9} {row['p50_ms_at_most']!s:>7} "
                    f"{row['p95_ms_at_most']!s:>7} {row['p99_ms_at_most']!s:>7} "
                    f"{1000 * cpu_s / row['requests']:>10.2f} {1000 * cpu_s / buyers:>12.2f}"
                )
        in_views = sum(row.get("cpu_s", 0.0) for row in server.values())
        if cpu := result.get("cpu"):
            web = cpu["by_part"].get("gunicorn", 0.0)
            print(
                f"  CPU inside views {1000 * in_views / buyers:.1f} ms/buyer of gunicorn's "
                f"{1000 * web / buyers:.1f} (the rest: gunicorn, WSGI, outer middleware, "
                "workers' start)"
            )
    print(f"\n  errors by status: {result['errors_by_status'] or 'none'}")
    print(f"  outcomes: {result['outcomes']}")
    print(f"  hold refusals (409, kind:code): {result.get('hold_refusals') or 'none'}")
    if result.get("audit") is not None:
        print("\n  correctness audit (all must be 0):")
        for name, count in result["audit"].items():
            print(f"    {name:32} {count}{'' if count == 0 else '   <-- FAILED'}")
    else:
        print("\n  correctness audit: not run (no database)")
    for text in cost_table(result):
        print(text)
    print(f"\n  result: {result.get('result_file')}\n  chart:  {result.get('chart_file')}\n")


SITE_PARTS = ("gunicorn", "postgres", "celery", "nginx", "redis")


def cost_table(result: dict) -> list[str]:
    """The run's cost per buyer, the closing table: CPU ms per paid order by
    part of the stack and by endpoint (the site's own per-view CPU), each
    endpoint next to the no-op ceiling of the same run, and the headline
    times."""
    buyers_n = result.get("buyers") or 0
    cpu = result.get("cpu")
    out = ["", f"  === cost per buyer ({buyers_n} buyers) ==="]
    if load := result.get("load_average"):
        out.append(f"  load average at start {load['start']}, at end {load['end']}")
    if not buyers_n or not cpu:
        return [*out, "  (no buyer or no CPU figures: nothing to divide)"]
    parts = cpu["by_part"]

    def ms(seconds: float) -> str:
        return f"{1000 * seconds / buyers_n:10.1f}"

    out.append(f"  {'part':34} {'CPU s':>9} {'ms/buyer':>10}")
    for part in SITE_PARTS:
        out.append(f"  {part:34} {parts.get(part, 0.0):9.1f} {ms(parts.get(part, 0.0))}")
    site = sum(parts.get(part, 0.0) for part in SITE_PARTS)
    out.append(f"  {'= the site':34} {site:9.1f} {ms(site)}")
    sandbox, driver = parts.get("sandbox", 0.0), parts.get("driver", 0.0)
    out.append(f"  {'sandbox acquirer (apart)':34} {sandbox:9.1f} {ms(sandbox)}")
    out.append(f"  {'load driver (this process)':34} {driver:9.1f} {ms(driver)}")
    out.append(f"  {'not ours (other jobs on the box)':34} {cpu['other']:9.1f} {ms(cpu['other'])}")
    server = result.get("server_latency") or {}
    noop_ms = (result.get("noop") or {}).get("gunicorn_cpu_ms_per_request")
    if server:
        requests = sum(row["requests"] for row in server.values())
        in_views = sum(row.get("cpu_s", 0.0) for row in server.values())
        # gunicorn's CPU outside the views (WSGI, outer middleware), spread
        # evenly: with it a view's figure is a whole request's, as the no-op's is.
        overhead_ms = 1000 * max(0.0, parts.get("gunicorn", 0.0) - in_views) / max(1, requests)
        out.append(
            f"\n  {'endpoint (inside Django)':40} {'requests':>9} {'CPU ms/req':>10} "
            f"{'ms/buyer':>9} {'÷ no-op':>8}"
        )
        for view, row in sorted(server.items(), key=lambda kv: -kv[1].get("cpu_s", 0)):
            cpu_s = row.get("cpu_s", 0.0)
            if cpu_s * 1000 / buyers_n < 0.05:
                continue
            per_request = 1000 * cpu_s / row["requests"]
            ratio = (
                f"{noop_ms / (per_request + overhead_ms):8.3f}"
                if noop_ms and per_request + overhead_ms > 0
                else f"{'-':>8}"
            )
            out.append(
                f"  {view[:40]:40} {row['requests']:>9} {per_request:10.2f} "
                f"{1000 * cpu_s / buyers_n:9.2f} {ratio}"
            )
        out.append(
            f"  (÷ no-op: a no-op request's gunicorn CPU ({noop_ms} ms, this run's ceiling)\n"
            f"   over the endpoint's, its view's plus {overhead_ms:.2f} ms outside views:\n"
            "   ≈ the endpoint's req/s ceiling ÷ the no-op's, by gunicorn CPU alone)"
        )
    steps = result.get("step_p99_ms") or {}
    out.append(
        f"\n  time to sell out {result.get('time_to_sell_out_s')} s "
        f"(99 % sold {result.get('time_to_99pct_sold_s')} s, nothing left to hold "
        f"{result.get('time_to_stock_gone_s')} s); p99 ms as the driver saw them: "
        f"hold {steps.get('hold')}, order {steps.get('order')}, "
        f"payment start {steps.get('payment_start')}"
    )
    return out


def save(result: dict, stem: str) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    json_path, png_path = RESULTS / f"{stem}.json", RESULTS / f"{stem}.png"
    result["result_file"], result["chart_file"] = str(json_path), str(png_path)
    try:
        chart(result, png_path)
    except Exception as exc:  # a chart must never hide the audit
        log(f"chart failed: {exc!r}")
        result["chart_file"] = None
    json_path.write_text(json.dumps(result, indent=2, default=str))


def exit_status(result: dict) -> int:
    if result.get("audit") and any(result["audit"].values()):
        return 1
    if not result["tickets"]:
        log("the run sold nothing: the buying flow is broken (see outcomes and errors)")
        return 2
    return 0


# --- the stack ----------------------------------------------------------------------


def start_stack(args, tmp: Path, processes: Processes) -> tuple[dict, dict, str]:
    """Services, fresh database, demo data, ceiling, web/worker/beat/nginx.
    Returns (event info, extra result fields, bench database URL)."""
    from ticketing.launcher import ensure_services

    embedded_redis = not os.environ.get("REDIS_URL")
    services = ensure_services(redis_db=BENCH_REDIS_DB)
    processes.services = services  # stopped last by main()
    if embedded_redis:
        import redis

        redis.Redis.from_url(os.environ["REDIS_URL"]).flushdb()
    db_url = fresh_database(os.environ["DATABASE_URL"], BENCH_DB)
    web_port, nginx_port, sandbox_port = free_port(), free_port(), free_port()
    base = f"http://127.0.0.1:{nginx_port}"
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "PROMETHEUS_MULTIPROC_DIR": str(tmp / "prometheus"),
        "SITE_URL": base,
        # The acquirer runs as a process of its own (its CPU counted apart);
        # the site reaches it, and the buyers' browsers are sent to it, here.
        "SANDBOX_URL": f"http://127.0.0.1:{sandbox_port}",
        "CELERY_QUEUE": "kassa-bench",
        "BEHIND_PROXY": "false",
        # Two trusted hops: the bench plays the edge in front (it writes each
        # simulated visitor's address, see common.Jar) and nginx appends
        # 127.0.0.1, the peer it saw; so the visitor's is the 2nd from the right.
        "TRUSTED_PROXY_COUNT": "2",
        "LOG_LEVEL": "WARNING",
        "QUEUE_DRAW_LEAD_SECONDS": str(int(args.draw_lead)),
        # Ticket mails are not under test; printing thousands costs the worker.
        "EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend",
    }
    (tmp / "prometheus").mkdir()
    (tmp / "prometheus-sandbox").mkdir()
    log(f"fresh database {BENCH_DB}: migrate, collectstatic, demo_load --places {args.places}")
    manage("migrate", "--noinput", "-v", "0", env=env)
    manage("collectstatic", "--noinput", "-v", "0", env=env)
    if "demo_load" not in manage("help", "--commands", env=env).split():
        raise SystemExit("manage.py demo_load is missing (the catalogue work is not merged yet)")
    manage("demo_load", "--places", str(args.places), env=env)
    extra: dict = {}
    if not args.skip_noop:
        log("measuring the no-op Django ceiling")
        extra["noop"] = noop_ceiling(
            processes, workers=args.workers, seconds=args.noop_seconds, concurrency=50
        )
        log(f"no-op ceiling: {extra['noop']['rps']} req/s")
    # The sale opens after the pre-queue: time enough for the early visitors to join.
    opens_at = datetime.now(UTC).timestamp() + args.prequeue + STARTUP_ALLOWANCE
    out = manage(
        "shell",
        "-c",
        PREPARE,
        env={
            **env,
            "BENCH_OPEN_AT": datetime.fromtimestamp(opens_at, UTC).isoformat(),
            "BENCH_SLUG": args.slug or "",
            "BENCH_RATE": str(args.admit_per_minute),
            "BENCH_MAX_ACTIVE": str(args.max_active),
        },
    )
    event = json.loads(out.split("BENCH_EVENT=", 1)[1].splitlines()[0])
    event["open_at_monotonic"] = time.monotonic() + (opens_at - datetime.now(UTC).timestamp())
    event["base_url"] = base
    event["metrics_url"] = f"http://127.0.0.1:{web_port}/metrics"
    processes.start(
        "web", gunicorn_argv("ticketing.wsgi", port=web_port, workers=args.workers), env=env
    )
    # The sandbox acquirer: its pages and API, and its callback deliverer (no Celery).
    sandbox_env = {
        **env,
        "DJANGO_SETTINGS_MODULE": "sandbox.settings",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp / "prometheus-sandbox"),
    }
    processes.start(
        "sandbox",
        gunicorn_argv("sandbox.wsgi", port=sandbox_port, workers=args.sandbox_workers),
        env=sandbox_env,
    )
    # Callbacks at the acquirer's scale: each waits on kassa's answer, so its
    # deliverer's threads bound the callbacks a second to threads / latency.
    # With 16, a few seconds of queueing at the site (a busy opening) held
    # payments back, their buyers read their orders again and again, and the
    # sale settled into 2 buyers a second (2026-12-02); a bank's gateway is
    # not the bottleneck of a merchant's sale. Each thread holds a database
    # connection while its POST waits.
    processes.start(
        "sandbox-deliver",
        [
            sys.executable,
            str(ROOT / "manage.py"),
            "outbox_work",
            "--kind",
            "sandbox.callback",
            "--threads",
            str(args.callback_threads),
        ],
        env={**sandbox_env, "DB_POOL_MAX_SIZE": str(args.callback_threads + 4)},
    )
    # Two workers, as `make run` (ticketing.launcher.celery_workers): the 1 s
    # admission tick on its own queue, never behind the payment callbacks.
    workers = celery_workers(env, loglevel="WARNING", concurrency=args.celery_concurrency)
    for name, argv in workers.items():
        processes.start(name, argv, env=env)
    processes.start(
        "beat",
        [
            venv_bin("celery"),
            "-A",
            "ticketing",
            "beat",
            "-l",
            "WARNING",
            "--schedule",
            str(tmp / "celerybeat-schedule"),
        ],
        env=env,
    )
    nginx_start(
        processes,
        prefix=tmp / "nginx",
        listen_port=nginx_port,
        upstream_port=web_port,
        static_root=ROOT / "staticfiles",
    )
    wait_http(f"{base}/readyz", processes=processes)
    wait_http(f"{env['SANDBOX_URL']}/healthz", processes=processes)
    log(
        f"event {event['slug']} ({event['capacity']} places) opens in "
        f"{event['open_at_monotonic'] - time.monotonic():.0f} s; "
        f"room settings {event['room']}"
    )
    return event, extra, db_url


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--places", type=int, default=28000, help="stadium size (demo_load)")
    p.add_argument("--visitors", type=int, default=40000, help="simulated people")
    p.add_argument("--workers", type=int, default=5, help="gunicorn workers")
    p.add_argument(
        "--sandbox-workers", type=int, default=2, help="the sandbox acquirer's gunicorn workers"
    )
    p.add_argument(
        "--callback-threads",
        type=int,
        default=48,
        help="the sandbox acquirer's callback deliverer threads (outbox_work --threads)",
    )
    p.add_argument(
        "--celery-concurrency",
        type=int,
        default=64,
        help="main Celery worker threads (refund requests and the status query wait on HTTP)",
    )
    p.add_argument(
        "--duration-limit",
        type=float,
        default=None,
        help="seconds after which remaining visitors are stopped (default: by places and rate)",
    )
    p.add_argument("--seed", type=int, default=1)
    p.add_argument(
        "--prequeue",
        type=float,
        default=None,
        help="seconds between start and the sale's opening (default: by visitors)",
    )
    p.add_argument(
        "--admit-per-minute",
        type=int,
        default=None,
        help="waiting-room admission rate, buyers a minute (default 720: what this box sells "
        "with hold p99 under ~0.5 s)",
    )
    p.add_argument(
        "--draw-lead",
        type=float,
        default=60,
        help="seconds before the opening that the pre-queue is drawn (QUEUE_DRAW_LEAD_SECONDS)",
    )
    p.add_argument("--max-active", type=int, default=2000, help="waiting-room active shoppers cap")
    p.add_argument("--noop-seconds", type=float, default=8)
    p.add_argument("--skip-noop", action="store_true", help="skip the no-op ceiling")
    p.add_argument("--connections", type=int, default=512, help="client keep-alive pool size")
    p.add_argument(
        "--hold-event-by",
        choices=["slug", "id"],
        default="slug",
        help="how POST holds/ names the event",
    )
    p.add_argument("--target", help="drive this running server instead of starting the stack")
    p.add_argument("--slug", help="event slug (with --target; or which demo event to use)")
    p.add_argument("--capacity", type=int, help="with --target: places on sale")
    p.add_argument("--open-in", type=float, default=0, help="with --target: seconds to opening")
    p.add_argument("--audit-database-url", help="with --target: audit this database")
    p.add_argument("--event-id", type=int, help="with --target and --audit-database-url")
    args = p.parse_args(argv)
    if args.prequeue is None:
        # Joins go through Django: leave ~1 s per 300 early visitors (40,000
        # join in ~2 minutes, ~0.5 core of the two), and at least 15 s of
        # pre-queue before the draw.
        args.prequeue = max(args.draw_lead + 15.0, args.visitors / 300)
    if args.admit_per_minute is None:
        # What this 2-core box sells with everything on it while the site stays
        # fast (bench/README.md, third round): 15 buyers/s saturates it and
        # every request queues (hold p99 5.5 s); 12/s sells the stadium 2.5
        # minutes later with a hold p99 of ~0.5 s. Keeping the site below that
        # line is the waiting room's job, so the default admits 12 a second.
        args.admit_per_minute = 720
    if args.duration_limit is None:
        # The pre-queue, then the sale at the admission rate (2.55 tickets a
        # buyer), with half as much again for stragglers and expiries.
        selling = args.places / 2.55 / (args.admit_per_minute / 60)
        args.duration_limit = round(args.prequeue + 1.5 * selling + 60)
    if args.target and not (args.slug and args.capacity):
        p.error("--target needs --slug and --capacity")
    return args


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    started = datetime.now(UTC)
    stem = "onsale-" + started.strftime("%Y%m%d-%H%M%S")
    with tempfile.TemporaryDirectory(prefix="kassa-bench-") as tmpdir:
        tmp = Path(tmpdir)
        logs = RESULTS / f"{stem}-logs"  # gunicorn, celery, nginx: kept for diagnosis
        logs.mkdir(parents=True, exist_ok=True)
        processes = Processes(logs)
        try:
            if args.target:
                event = {
                    "slug": args.slug,
                    "capacity": args.capacity,
                    "base_url": args.target,
                    "id": args.event_id,
                    "open_at_monotonic": time.monotonic() + args.open_in,
                }
                extra, db_url = {}, args.audit_database_url
            else:
                event, extra, db_url = start_stack(args, tmp, processes)
            sale = buyers.Sale(
                slug=event["slug"],
                capacity=event["capacity"],
                open_at=event["open_at_monotonic"],
                event_ref=event.get("id") if args.hold_event_by == "id" else None,
                draw_lead=float(event.get("draw_lead") or 0),
            )
            log(f"{args.visitors} visitors for {sale.capacity} places, through {event['base_url']}")
            meter = CpuMeter()
            load_before = os.getloadavg()
            meter.start()
            result = run_loop(
                drive(
                    base_url=event["base_url"],
                    sale=sale,
                    visitors=args.visitors,
                    seed=args.seed,
                    duration_limit=args.duration_limit,
                    db_url=db_url,
                    event_id=event.get("id"),
                    connections=args.connections,
                )
            )
            result["cpu"] = meter.stop()
            result["load_average"] = {
                "start": [round(x, 2) for x in load_before],
                "end": [round(x, 2) for x in os.getloadavg()],
            }
            if event.get("metrics_url"):
                try:
                    result["server_latency"] = server_latency(event["metrics_url"])
                except Exception as exc:  # diagnostics must never hide the audit
                    log(f"reading /metrics failed: {exc!r}")
            if dead := processes.dead():
                log(f"died during the run: {', '.join(dead)} (logs in {tmp})")
            result.update(extra)
            result.update(
                {
                    "visitors": args.visitors,
                    "workers": args.workers,
                    "seed": args.seed,
                    "started_at": started.isoformat(),
                    "event": event,
                    "args": vars(args),
                }
            )
            if "noop" in result and result["noop"]["rps"]:
                result["ratio_to_noop"] = round(result["requests_per_s"] / result["noop"]["rps"], 2)
            result["audit"] = (
                db_audit(db_url, event["id"]) if db_url and event.get("id") is not None else None
            )
        finally:
            processes.stop_all()
            if processes.services is not None:
                processes.services.stop()
    save(result, stem)
    print_summary(result)
    return exit_status(result)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
