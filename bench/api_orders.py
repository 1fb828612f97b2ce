"""The partner's pending-order path under a crowd (issue 20): N buyers released
at once on M standing places, each POST holds/ (standing, 2) then POST orders/
with the partner's key.

    .venv/bin/python bench/api_orders.py [--buyers 500] [--places 1000] [--quantity 2]

What it does (BENCH.md): starts the embedded Postgres/Redis (or uses
DATABASE_URL/REDIS_URL), migrates, builds a fresh event of its own with one
standing area of --places sold to the partner's channel only, a partner with a
`sell` key, and starts gunicorn (3 sync workers, the project's settings) with
the partner budget raised the documented way (API_THROTTLE_PARTNER, README's
settings table), and a bare no-op Django app for the ceiling. The same crowd
of forked buyer processes hits the no-op first, then the real path: each
buyer, all released together, holds `--quantity` standing places and turns
the hold into a pending order (its own buyer_ref, so the per-buyer limit is
per buyer). Prints orders/s, p50/p95/p99 of each step and of the pair, the
ratio to the no-op's req/s, the CPU seconds of web (this run's gunicorn) and
database (this database's Postgres processes) from /proc during the crowd,
as ms per order created, with the load average, and the
correctness audit from the database (all 0, and never more places held or
ordered than exist). Stops itself: per-request timeouts, a deadline per
phase, servers stopped in `finally`.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import proc_stat  # noqa: E402
from bench.holds import audit, crowd_run, percentile, start_gunicorn, stop  # noqa: E402

REQUEST_TIMEOUT = 30.0


def make_sale(places: int) -> tuple[int, str, int, str]:
    """A fresh partner-only event with one standing area; (event id, slug, section id, key)."""
    from api.models import Partner, Scope
    from api.services import api_key_create
    from events.factories import event_build
    from events.models import Section

    tag = f"bench-api-{int(time.time())}-{random.randrange(10**6)}"
    partner, _ = Partner.objects.get_or_create(slug="bench-bank", defaults={"name": "Bench Bank"})
    event = event_build(
        seats=0,
        standing=places,
        standing_name="Floor",
        price="15000",
        slug=tag,
        title=tag,
        channels=[f"partner:{partner.slug}"],
        per_buyer_limit=4,
        opened_ago=timedelta(minutes=5),
        closes_in=timedelta(hours=2),
    )
    floor = Section.objects.get(venue=event.venue, kind=Section.Kind.STANDING)
    _, raw = api_key_create(partner=partner, scopes=[Scope.SELL], name=tag)
    return event.pk, event.slug, floor.pk, raw


def call(port: int, method: str, path: str, body: dict | None, key: str) -> tuple[int, float, dict]:
    started = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT)
    data: dict = {}
    try:
        headers = {"Authorization": f"Api-Key {key}"} if key else {}
        payload = None
        if body is not None:
            payload = json.dumps(body)
            headers["Content-Type"] = "application/json"
        conn.request(method, path, body=payload, headers=headers)
        response = conn.getresponse()
        raw = response.read()
        status = response.status
        if raw[:1] == b"{":
            data = json.loads(raw)
    except (OSError, ValueError):
        status = 0
    finally:
        conn.close()
    return status, time.perf_counter() - started, data


def buyer(i, port, mode, slug, section, quantity, key, go, results):
    go.wait()
    if mode == "noop":
        results.put([("noop", *call(port, "GET", "/noop/", None, "")[:2]) for _ in range(2)])
        return
    ref = f"bench-buyer-{i}"
    out = []
    status, seconds, hold = call(
        port, "POST", "/api/v1/holds/",
        {"event": slug, "standing": {"section": section, "quantity": quantity}, "buyer_ref": ref},
        key,
    )  # fmt: skip
    out.append(("hold", status, seconds))
    if status == 201:
        status, seconds2, _ = call(
            port, "POST", "/api/v1/orders/",
            {"hold": hold["id"], "email": f"{ref}@example.com", "name": ref, "buyer_ref": ref},
            key,
        )  # fmt: skip
        out.append(("order", status, seconds2))
        out.append(("pair", status, seconds + seconds2))
    results.put(out)


class OwnStackMeter:
    """CPU seconds of this run's own processes only: the gunicorn started here
    (master and workers), this database's Postgres processes, and the driver
    (this process and its reaped buyers). The box is shared: counting every
    process named gunicorn or postgres (bench.common.CpuMeter) adds other
    benches' servers to the cost of an order."""

    def __init__(self, *, gunicorn_pid: int, postmaster_pid: int, dbname: str, own_server: bool):
        self.roots = {"gunicorn": gunicorn_pid, "postgres": postmaster_pid}
        self.dbname = dbname
        self.own_server = own_server  # embedded: its background writers are this run's too

    def _read(self) -> dict[int, tuple[str, float]]:
        pids = (int(e) for e in os.listdir("/proc") if e.isdigit())
        stats = {pid: st for pid in pids if (st := proc_stat(pid))}
        out: dict[int, tuple[str, float]] = {}
        me = os.getpid()
        if me in stats:
            out[me] = ("driver", stats[me][1])
        for part, root in self.roots.items():
            for pid, (ppid, seconds, cmd) in stats.items():
                if pid == root:
                    # The postmaster's reaped children are in its cutime: only
                    # a server of our own is all ours.
                    if part == "gunicorn" or self.own_server:
                        out[pid] = (part, seconds)
                elif ppid == root and (
                    part == "gunicorn" or self.own_server or f" {self.dbname} " in f"{cmd} "
                ):
                    out[pid] = (part, seconds)
        return out

    def start(self) -> None:
        self._before = self._read()
        self._machine = _machine_busy()

    def stop(self) -> dict:
        after = self._read()
        parts: dict[str, float] = {}
        for pid, (part, seconds) in after.items():
            before = self._before.get(pid, (part, 0.0))[1]
            parts[part] = parts.get(part, 0.0) + seconds - before
        busy0, total0 = self._machine
        busy1, total1 = _machine_busy()
        return {
            "machine_busy_seconds": round(busy1 - busy0, 1),
            "machine_capacity_seconds": round(total1 - total0, 1),
            "by_part": {k: round(v, 2) for k, v in parts.items()},
        }


def _machine_busy() -> tuple[float, float]:
    with open("/proc/stat") as f:
        values = [int(x) for x in f.readline().split()[1:]]
    tick = os.sysconf("SC_CLK_TCK")
    return (sum(values) - values[3] - values[4]) / tick, sum(values) / tick


def crowd(*, port, mode, buyers, slug="", section=0, quantity=2, key="", deadline=120.0,
          meter=None):  # fmt: skip
    return crowd_run(
        target=buyer, args=(port, mode, slug, section, quantity, key), buyers=buyers,
        deadline=deadline, meter=meter,
    )  # fmt: skip


def line(name: str, samples: list[tuple[str, int, float]], elapsed: float) -> float:
    ms = [s * 1000 for _, _, s in samples]
    statuses: dict[int, int] = {}
    for _, status, _ in samples:
        statuses[status] = statuses.get(status, 0) + 1
    rate = len(samples) / elapsed if elapsed else 0.0
    print(
        f"{name:<6} {len(samples):>5} in {elapsed:6.2f} s = {rate:7.1f}/s  "
        f"p50 {percentile(ms, 50):7.1f} ms  p95 {percentile(ms, 95):7.1f} ms  "
        f"p99 {percentile(ms, 99):7.1f} ms  statuses {dict(sorted(statuses.items()))}"
    )
    return rate


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--buyers", type=int, default=500)
    parser.add_argument("--places", type=int, default=1000)
    parser.add_argument("--quantity", type=int, default=2)
    parser.add_argument("--deadline", type=float, default=180.0, help="seconds per phase")
    args = parser.parse_args()

    # The documented way to raise the partner budget (README, settings table):
    # inherited by the gunicorn started below.
    os.environ["API_THROTTLE_PARTNER"] = "1000000/min"
    from bench.common import django_in_process, free_port
    from ticketing.launcher import DATA

    services = django_in_process()
    from django.db import connection, connections

    event_id, slug, section, key = make_sale(args.places)
    connections.close_all()  # no shared socket in the forked buyers

    log_dir = DATA / "bench"
    log_dir.mkdir(parents=True, exist_ok=True)
    noop = web = None
    errors = 0
    try:
        noop_port, web_port = free_port(), free_port()
        noop = start_gunicorn("bench.noop_app:application", noop_port, log_dir / "noop.log")
        web = start_gunicorn("ticketing.wsgi", web_port, log_dir / "web.log")
        print(
            f"buyers={args.buyers} processes released at once, {args.places} standing places, "
            f"{args.quantity} each; gunicorn 3 sync workers; 2 cores shared with the driver"
        )
        call(web_port, "GET", "/healthz", None, "")
        for _ in range(6):  # warm each worker's imports and the sale snapshot
            call(web_port, "GET", f"/api/v1/events/{slug}/", None, key)
        noop_samples, noop_elapsed = crowd(port=noop_port, mode="noop", buyers=args.buyers,
                                              deadline=args.deadline)  # fmt: skip
        noop_rate = line("no-op", noop_samples, noop_elapsed)
        stop(noop)
        noop = None
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            backend = cursor.fetchone()[0]
        connections.close_all()
        postmaster = proc_stat(backend)[0]
        meter = OwnStackMeter(
            gunicorn_pid=web.pid,
            postmaster_pid=postmaster,
            dbname=connection.settings_dict["NAME"],
            own_server=str(DATA) in (proc_stat(postmaster) or (0, 0, ""))[2],
        )
        load_before = os.getloadavg()
        samples, elapsed, cpu = crowd(
            port=web_port, mode="orders", buyers=args.buyers, slug=slug, section=section,
            quantity=args.quantity, key=key, deadline=args.deadline, meter=meter,
        )  # fmt: skip
        load_after = os.getloadavg()
        by_step = {step: [s for s in samples if s[0] == step] for step in ("hold", "order", "pair")}
        requests = len(by_step["hold"]) + len(by_step["order"])
        for step in ("hold", "order", "pair"):
            line(step, by_step[step], elapsed)
        orders = sum(1 for _, status, _ in by_step["order"] if status == 201)
        errors = sum(1 for step in ("hold", "order") for _, st, _ in by_step[step]
                     if st == 0 or st >= 500)  # fmt: skip
        web_cpu = cpu["by_part"].get("gunicorn", 0.0)
        db_cpu = cpu["by_part"].get("postgres", 0.0)
        per = 1000 / orders if orders else float("nan")
        print(
            f"orders created {orders} = {orders / elapsed:.1f} orders/s; "
            f"request rate / no-op rate = {requests / elapsed / noop_rate:.2f}; "
            f"5xx/transport errors {errors}"
        )
        print(
            f"CPU during the crowd (this run's own processes): web {web_cpu:.2f} s, "
            f"Postgres {db_cpu:.2f} s, driver {cpu['by_part'].get('driver', 0.0):.2f} s "
            f"(machine busy {cpu['machine_busy_seconds']} of "
            f"{cpu['machine_capacity_seconds']} s; load average "
            f"{load_before[0]:.2f} before, {load_after[0]:.2f} after)"
        )
        print(
            f"CPU ms per order: web {web_cpu * per:.1f} + Postgres {db_cpu * per:.1f} "
            f"= {(web_cpu + db_cpu) * per:.1f} ms web+DB"
        )
    finally:
        stop(noop)
        stop(web)
    result = audit(event_id)
    # holds.py's audit counts active holds only; here most holds became
    # pending orders, whose places stay held until paid or expired.
    del result["standing_held_mismatch"]
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT count(*) FROM events_standingarea a
                WHERE a.event_id = %s AND a.held + a.sold <> (
                  SELECT coalesce(sum(hs.quantity), 0) FROM orders_holdstanding hs
                    JOIN orders_hold h ON h.id = hs.hold_id
                   WHERE hs.area_id = a.id AND h.status IN ('active', 'converted'))""",
            [event_id],
        )
        result["standing_counters_mismatch"] = cursor.fetchone()[0]
        cursor.execute(
            """SELECT a.capacity, a.held, a.sold,
                      (SELECT coalesce(sum(o.quantity), 0) FROM orders_order o
                        WHERE o.event_id = a.event_id AND o.status <> 'expired')
                 FROM events_standingarea a WHERE a.event_id = %s""",
            [event_id],
        )
        capacity, held, sold, ordered = cursor.fetchone()
    result["places_ordered_beyond_capacity"] = max(0, ordered - capacity)
    print(f"standing: capacity {capacity}, held {held}, sold {sold}, in orders {ordered}")
    print("audit:", json.dumps(result))
    services.stop()
    return 0 if not any(result.values()) and errors == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
