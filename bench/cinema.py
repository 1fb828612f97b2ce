"""Cinema benchmark: import a city's week (20 cinemas x 8 halls of ~200 seats x
6 showings a day x 7 days ≈ 6,700 showings, 1.3 M seat rows) through the
import service, next to a pgbench INSERT ceiling of the same shape measured
in the same run; then the schedule page and API under load (cached) and in
process (uncached and cached), as ratios to the same run's no-op endpoint,
with the SQL statements per request.

    .venv/bin/python -m bench.cinema [--seconds 10] [--connections 50] [--import-workers 1]
        [--keep]

It works in a database of its own, `<DATABASE_URL's name>_cinema_bench` (made
afresh, migrated, dropped at the end unless --keep), so it never fills or
clashes with the database it is given; embedded Postgres/Redis when the URLs
are not set (ticketing.launcher.ensure_services). Prints one JSON report.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo

from bench.common import (
    ROOT,
    Processes,
    free_port,
    gunicorn_argv,
    hammer,
    latency_summary,
    log,
    noop_ceiling,
    wait_http,
)

CITY = "bench-city"
CINEMAS, HALLS, PER_DAY, DAYS = 20, 8, 6, 7
ROWS, PER_ROW = 10, 20  # 200 seats a hall
FILMS = [(f"bench-film-{i}", 90 + 6 * i) for i in range(10)]  # 90 … 144 minutes
# Six starts 2 h 45 min apart: the longest film plus the 10-minute turnaround fits.
SLOTS = ["09:30", "12:15", "15:00", "17:45", "20:30", "23:15"]
PRICES = "2500,4500,1500,1500,3500"


def _bench_database(url: str) -> str:
    """A fresh database beside the one named in `url`; returns its URL."""
    import psycopg

    parts = urlsplit(url)
    name = f"{parts.path.lstrip('/')}_cinema_bench"
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return urlunsplit(parts._replace(path=f"/{name}"))


def _drop_database(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{parts.path.lstrip("/")}" WITH (FORCE)')


def build_city() -> None:
    from cinema.factories import cinema_make, city_make, film_make, hall_make
    from cinema.models import City

    city = city_make(CITY)
    City.objects.filter(pk=city.pk).update(name="Бенч", name_en="Bench")
    for slug, minutes in FILMS:
        film_make(slug=slug, duration=minutes)
    for c in range(CINEMAS):
        cinema = cinema_make(slug=f"bench-{c:02d}", city=city)
        for h in range(HALLS):
            hall_make(cinema=cinema, code=str(h + 1), rows=ROWS, per_row=PER_ROW)


def schedule_csv(first_day) -> str:
    lines = [
        "cinema,hall,film,start,format,language,subtitles,price_standard,price_vip,"
        "price_wheelchair,price_companion,price_love,child_standard,student_standard"
    ]
    for day in range(DAYS):
        date = first_day + timedelta(days=day)
        for c in range(CINEMAS):
            for h in range(HALLS):
                for s, clock in enumerate(SLOTS):
                    film = FILMS[(c + h + s + day) % len(FILMS)][0]
                    fmt = "imax" if h == 0 else ("3d" if h == 1 else "2d")
                    lang = "kk" if s == 0 else "ru"
                    lines.append(
                        f"bench-{c:02d},{h + 1},{film},{date} {clock},{fmt},{lang},,"
                        f"{PRICES},1500,1800"
                    )
    return "\n".join(lines) + "\n"


def table_rows() -> dict[str, int]:
    from django.db import connection

    tables = ["events_event", "events_pricetier", "events_tickettype", "events_tickettypeprice",
              "events_salephase", "cinema_showing", "events_eventseat"]  # fmt: skip
    with connection.cursor() as cursor:
        out = {}
        for table in tables:
            cursor.execute(f"SELECT count(*) FROM {table}")
            out[table] = cursor.fetchone()[0]
    return out


def import_week(workers: int) -> dict:
    from django.utils import timezone

    from cinema.imports import schedule_check, schedule_import, schedule_lines_from_csv

    zone = ZoneInfo("Asia/Almaty")
    first_day = (timezone.now().astimezone(zone) + timedelta(days=1)).date()
    text = schedule_csv(first_day)
    before = table_rows()
    t0 = time.perf_counter()
    lines = schedule_lines_from_csv(text)
    t1 = time.perf_counter()
    schedule_check(lines=lines)  # timed on its own; schedule_import checks again
    t2 = time.perf_counter()
    report = schedule_import(lines=lines, workers=workers)
    t3 = time.perf_counter()
    after = table_rows()
    written = {k: after[k] - before[k] for k in after}
    check_s, import_s = t2 - t1, t3 - t2
    write_s = import_s - check_s
    rows = sum(written.values())
    expected = CINEMAS * HALLS * PER_DAY * DAYS
    return {
        "first_day": str(first_day),
        "lines": len(lines),
        "import_workers": workers,
        "showings": report.created,
        "failed_cinemas": len(report.failed),
        "rows_written": written,
        "parse_s": round(t1 - t0, 2),
        "check_s": round(check_s, 2),
        "import_s (check + write)": round(import_s, 2),
        "write_s (≈ import - check)": round(write_s, 2),
        "rows_per_s (all tables, write)": round(rows / write_s),
        "seat_rows_per_s (write)": round(written["events_eventseat"] / write_s),
        "showings_per_s (end to end)": round(report.created / (t3 - t0)),
        "audit": {
            "showings_missing": expected - report.created,
            "seat_rows_wrong": written["events_eventseat"] - expected * ROWS * PER_ROW,
            "showings_without_stock": _showings_without_stock(),
        },
    }


def _showings_without_stock() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM cinema_showing s WHERE NOT EXISTS "
            "(SELECT 1 FROM events_eventseat e WHERE e.event_id = s.event_id)"
        )
        return cursor.fetchone()[0]


def pgbench_ceiling(seconds: float) -> dict | None:
    """The database's own rate for the import's seat statement: pgbench runs
    the same INSERT … SELECT (one hall's seats for one event, 200 rows) into
    a copy of events_eventseat with the same columns, indexes, checks and
    deferred foreign keys to the real events, seats, sections and tiers, one
    client like the import. Each pgbench transaction commits 200 rows; the
    import commits a cinema (~67,000) at once, so it pays fewer commits."""
    from django.db import connection

    if not shutil.which("pgbench"):
        return None
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_eventseat")
        cursor.execute("CREATE TABLE bench_eventseat (LIKE events_eventseat INCLUDING ALL)")
        for column, table in (
            ("event_id", "events_event"),
            ("seat_id", "events_seat"),
            ("section_id", "events_section"),
            ("tier_id", "events_pricetier"),
        ):
            cursor.execute(
                f"ALTER TABLE bench_eventseat ADD FOREIGN KEY ({column}) REFERENCES {table} (id) "
                "DEFERRABLE INITIALLY DEFERRED"
            )  # fmt: skip
        cursor.execute("SELECT min(event_id), max(event_id) FROM cinema_showing")
        event_min, event_max = cursor.fetchone()
        cursor.execute("SELECT min(venue_id), max(venue_id) FROM cinema_hall")
        venue_min, venue_max = cursor.fetchone()
        cursor.execute("SELECT min(id) FROM events_pricetier")
        (tier,) = cursor.fetchone()
    script = (
        f"\\set e random({event_min}, {event_max})\n"
        f"\\set v random({venue_min}, {venue_max})\n"
        "INSERT INTO bench_eventseat "
        "(event_id, seat_id, section_id, tier_id, status, quality_rank) "
        f"SELECT :e, s.id, s.section_id, {tier}, 'available', s.quality_rank FROM events_seat s "
        "JOIN events_section sec ON sec.id = s.section_id WHERE sec.venue_id = :v "
        "ON CONFLICT DO NOTHING;\n"
    )
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as fh:
        fh.write(script)
    try:
        out = subprocess.run(
            ["pgbench", "-n", "-c", "1", "-T", str(int(seconds)), "-f", fh.name,
             os.environ["DATABASE_URL"]],
            capture_output=True, text=True, timeout=seconds + 60, check=False,
        )  # fmt: skip
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM bench_eventseat")
            (rows,) = cursor.fetchone()
    finally:
        os.unlink(fh.name)
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE IF EXISTS bench_eventseat")
    tps = next(
        (float(line.split()[2]) for line in out.stdout.splitlines() if line.startswith("tps =")),
        None,
    )
    if tps is None:
        return {"error": out.stderr[-300:]}
    return {
        "statement": f"INSERT … SELECT {ROWS * PER_ROW} seat rows (the import's shape) into a "
        "copy of events_eventseat with its indexes and deferred FKs, a commit each",
        "clients": 1,
        "seconds": seconds,
        "tps": round(tps, 1),
        "rows_per_s": round(rows / seconds),
    }


def in_process(paths: dict[str, str], rounds: int) -> dict:
    """Django's test client through every middleware (no network): p50/p95 of
    each path uncached (the cinema cache keys dropped before every request)
    and cached, SQL statements per request, and /healthz as the no-op."""
    from django.core.cache import cache
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    out: dict = {}

    def run(path: str, *, clear: bool) -> tuple[list[float], int]:
        samples, statements = [], 0
        for _ in range(rounds):
            if clear:
                cache.delete_pattern("cinema:*")
            with CaptureQueriesContext(connection) as ctx:
                t0 = time.perf_counter()
                response = client.get(path)
                samples.append(time.perf_counter() - t0)
            assert response.status_code == 200, (path, response.status_code)
            statements = len(ctx.captured_queries)
        return samples, statements

    noop, _ = run("/healthz", clear=False)
    noop_p95 = latency_summary(noop)["p95"]
    out["/healthz (no-op)"] = latency_summary(noop)
    for name, path in paths.items():
        for label, clear in (("uncached", True), ("cached", False)):
            if not clear:
                client.get(path)  # warm
            samples, statements = run(path, clear=clear)
            summary = latency_summary(samples)
            out[f"{name} {label}"] = {
                **summary,
                "sql_statements": statements,
                "p95_ratio_to_noop": round(summary["p95"] / noop_p95, 1) if noop_p95 else None,
            }
    return out


def under_load(processes, env, paths, *, seconds, connections, workers) -> dict:
    out = {"noop": noop_ceiling(processes, workers=workers, seconds=seconds,
                                concurrency=connections)}  # fmt: skip
    port = free_port()
    processes.start("web", gunicorn_argv("ticketing.wsgi", port=port, workers=workers), env=env)
    base = f"http://127.0.0.1:{port}"
    wait_http(f"{base}/healthz", processes=processes)
    for name, path in paths.items():
        for _ in range(workers * 2):  # warm every worker and the cache
            wait_http(f"{base}{path}", processes=processes, timeout=120)
        result = asyncio.run(hammer(base, path, seconds=seconds, concurrency=connections))
        result["rps_ratio_to_noop"] = round(result["rps"] / out["noop"]["rps"], 3)
        if out["noop"].get("p95"):
            result["p95_ratio_to_noop"] = round(result["p95"] / out["noop"]["p95"], 1)
        out[f"{name} cached"] = result
    processes.stop("web")
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=20, help="in-process requests per path")
    parser.add_argument("--keep", action="store_true", help="keep the bench database")
    parser.add_argument(
        "--import-workers", type=int, default=1, help="cinemas written at once (threads)"
    )
    args = parser.parse_args()

    sys.path.insert(0, str(ROOT))
    logdir = Path(tempfile.mkdtemp(prefix="kassa-bench-cinema-"))
    from ticketing.launcher import ensure_services

    services = ensure_services()
    bench_url = _bench_database(os.environ["DATABASE_URL"])
    env = {**os.environ, "DATABASE_URL": bench_url, "DJANGO_SETTINGS_MODULE": "ticketing.settings",
           "DEBUG": "false", "LOG_LEVEL": "WARNING", "STATIC_ROOT": str(logdir / "static"),
           "API_THROTTLE_ANON": os.environ.get("API_THROTTLE_ANON", "100000000/min")}  # fmt: skip
    os.environ.update(env)
    processes = Processes(logdir=logdir)
    report: dict = {"box": f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.1f} at start"}
    try:
        log("migrating the bench database")
        subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env,
                       check=True)  # fmt: skip
        subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
                       cwd=ROOT, env=env, check=True)  # fmt: skip
        import django

        django.setup()
        from django.core.cache import cache
        from django.db import connection

        cache.delete_pattern("cinema:*")
        log("building 20 cinemas x 8 halls")
        t0 = time.perf_counter()
        build_city()
        report["build_halls_s"] = round(time.perf_counter() - t0, 1)
        log("importing the week")
        report["import"] = import_week(args.import_workers)
        log(json.dumps(report["import"], ensure_ascii=False))
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
        log("pgbench ceiling")
        report["pgbench"] = pgbench_ceiling(args.seconds)
        log(json.dumps(report["pgbench"], ensure_ascii=False))
        if report["pgbench"] and "rows_per_s" in report["pgbench"]:
            report["import_seat_rows_ratio_to_pgbench"] = round(
                report["import"]["seat_rows_per_s (write)"] / report["pgbench"]["rows_per_s"], 2
            )
        day = datetime.fromisoformat(report["import"]["first_day"]).date()
        paths = {
            "page (a day, all films)": f"/cinema/{CITY}/?date={day}",
            "page (a day, one film)": f"/cinema/{CITY}/?date={day}&film={FILMS[0][0]}",
            "API (a day, 50 per page)": f"/api/v1/cinema/showings/?city={CITY}&date={day}",
        }
        log("in process")
        report["in_process"] = in_process(paths, args.rounds)
        log(json.dumps(report["in_process"], ensure_ascii=False))
        connection.close()
        log("under load")
        report["http"] = under_load(processes, env, paths, seconds=args.seconds,
                                    connections=args.connections, workers=args.workers)  # fmt: skip
        report["http"]["setup"] = (
            f"gunicorn {args.workers} sync workers, {args.connections} connections, "
            f"{args.seconds:.0f} s each, the bench's client on the same cores"
        )
    finally:
        processes.stop_all()
        from django.db import connections

        connections.close_all()
        if not args.keep:
            _drop_database(bench_url)
        services.stop()
    print(json.dumps(report, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
