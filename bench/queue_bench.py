"""Waiting-room benchmark: joins/s, status polls/s, public state (direct and
through an nginx micro-cache), against a no-op Django ceiling measured the
same way, plus Redis memory per 100,000 queued visitors.

Run from the repository root (as a module: a file named queue.py must not
shadow the standard library's `queue`):

    .venv/bin/python -m bench.queue_bench [--duration 10] [--connections 50]

It starts the embedded PostgreSQL/Redis (ticketing.launcher.ensure_services,
Redis database 3), gunicorn with 3 sync workers on free ports for the real
app and for a bare no-op Django app, a throw-away nginx for the cached path
(if /usr/sbin/nginx exists), runs wrk, prints one JSON report, and stops
everything it started. Bounded: every wrk run lasts --duration seconds.
Each of the no-op, healthz, join and status runs also reports the CPU its
gunicorn (master and workers, from /proc) and the embedded Redis spent per
request, and the 1-minute load average at its end: CPU per request does not
move with the load the way req/s does.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SLUG = "bench-queue"

# --- the no-op ceiling: bare Django, no middleware, one JsonResponse -------


# --- helpers ---------------------------------------------------------------

WRK_REPORT = """
done = function(summary, latency, requests)
  io.write(string.format("JSON {\\"requests\\": %d, \\"seconds\\": %.3f, \\"errors\\": %d, "
    .. "\\"non2xx\\": %d, \\"p50_ms\\": %.2f, \\"p95_ms\\": %.2f, \\"p99_ms\\": %.2f}\\n",
    summary.requests, summary.duration / 1e6,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000))
end
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except Exception:
            time.sleep(0.3)
    raise SystemExit(f"{url} did not answer within {timeout}s")


def wrk(url: str, *, duration: int, connections: int, script: str = "", tmp: Path) -> dict:
    path = tmp / f"wrk-{time.monotonic_ns()}.lua"
    path.write_text(script + WRK_REPORT)
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--timeout", "5s",
         "-s", str(path), url],
        capture_output=True, text=True, timeout=duration + 60, check=True,
    ).stdout  # fmt: skip
    data = json.loads(re.search(r"^JSON (.*)$", out, re.M).group(1))
    data["rps"] = round(data["requests"] / data["seconds"], 1)
    return data


def tree_cpu_seconds(root: int) -> float:
    """CPU seconds (user + system, own + reaped children) of `root` and its
    live children, from /proc: the gunicorn master and its workers only, not
    the other processes sharing the box."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        # after the comm: state ppid ...; utime stime cutime cstime are 11-14
        if int(entry) == root or int(fields[1]) == root:
            total += sum(int(x) for x in fields[11:15]) / tick
    return total


def measured(run, server: subprocess.Popen, redis_pid: int | None) -> dict:
    """`run()` (one wrk run) with the CPU its web server (and the embedded
    Redis, if this bench owns it) spent per request, and the load average."""
    web0 = tree_cpu_seconds(server.pid)
    redis0 = tree_cpu_seconds(redis_pid) if redis_pid else 0.0
    data = run()
    web = tree_cpu_seconds(server.pid) - web0
    data["web_cpu_ms_per_request"] = round(web * 1000 / max(data["requests"], 1), 3)
    if redis_pid:
        redis = tree_cpu_seconds(redis_pid) - redis0
        data["redis_cpu_ms_per_request"] = round(redis * 1000 / max(data["requests"], 1), 3)
    data["loadavg_1m"] = round(os.getloadavg()[0], 2)
    return data


def gunicorn(app: str, port: int, env: dict, log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "gunicorn", app, "-c", "ticketing/gunicorn_conf.py",
         "-b", f"127.0.0.1:{port}", "--workers", "3"],
        cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT,
    )  # fmt: skip


def nginx(tmp: Path, upstream: int, port: int) -> subprocess.Popen | None:
    if not shutil.which("nginx") and not Path("/usr/sbin/nginx").exists():
        return None
    conf = tmp / "nginx.conf"
    tmp.chmod(0o755)  # nginx workers may run as another user
    conf.write_text(f"""
worker_processes 1;
daemon off;
pid {tmp}/nginx.pid;
error_log {tmp}/nginx-error.log;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  client_body_temp_path {tmp}/body; proxy_temp_path {tmp}/proxy;
  fastcgi_temp_path {tmp}/fcgi; uwsgi_temp_path {tmp}/uwsgi; scgi_temp_path {tmp}/scgi;
  proxy_cache_path {tmp}/cache keys_zone=queue:1m max_size=10m;
  upstream app {{ server 127.0.0.1:{upstream}; keepalive 16; }}
  server {{
    listen 127.0.0.1:{port};
    location ~ ^/api/v1/events/[^/]+/queue/state/$ {{
      proxy_pass http://app;
      proxy_http_version 1.1; proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_cache queue; proxy_cache_valid 200 1s; proxy_cache_lock on;
      proxy_cache_use_stale updating;
    }}
  }}
}}
""")
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    out = (tmp / "nginx.out").open("wb")
    return subprocess.Popen([binary, "-c", str(conf)], stdout=out, stderr=subprocess.STDOUT)


def setup_room() -> tuple[int, int]:
    """A bench event with an open room (idempotent). Returns (room id, event id)."""
    import datetime as dt

    from django.utils import timezone

    from events.models import Event, Venue
    from queueing import services, state
    from queueing.models import WaitingRoom

    venue, _ = Venue.objects.get_or_create(slug=SLUG, defaults={"name": "Bench arena"})
    event, _ = Event.objects.get_or_create(
        slug=SLUG,
        defaults={"venue": venue, "title": "Bench", "starts_at": timezone.now() + dt.timedelta(30)},
    )
    room = WaitingRoom.objects.filter(event=event).first()
    if room is None:
        room = services.room_create(
            event=event, sale_opens_at=timezone.now() - dt.timedelta(minutes=1),
            admission_rate_per_minute=600, max_active_shoppers=1000,
        )  # fmt: skip
    for key in state.keys(room.pk).values():
        state.conn().delete(key)
    services.room_push(room=room)
    return room.pk, event.pk


def redis_bytes_per_visitor(count: int) -> dict:
    """Join `count` visitors directly through the join script into a scratch room."""
    from queueing import state

    r = state.conn()
    room_id = 999_999_001
    for key in state.keys(room_id).values():
        r.delete(key)
    state.init(room_id, {"phase": "open", "tail": "0", "serving": "0"}, {})
    before = r.info("memory")["used_memory"]
    script = state.scripts().join
    ks = state.k(room_id, "st", "map", "pre", "cnt", "moved")  # state.join's keys
    start = time.perf_counter()
    now = time.time()
    for chunk in range(0, count, 1000):
        pipe = r.pipeline(transaction=False)
        for i in range(chunk, min(chunk + 1000, count)):
            script(keys=ks, args=[f"device:{i:022d}", now], client=pipe)
        pipe.execute()
    seconds = time.perf_counter() - start
    after = r.info("memory")["used_memory"]
    numbers = r.hvals(state.keys(room_id)["map"])
    audit = {"distinct_numbers": len(set(numbers)), "visitors": len(numbers)}
    for key in state.keys(room_id).values():
        r.delete(key)
    return {
        "visitors": count,
        "bytes_total": after - before,
        "bytes_per_visitor": round((after - before) / count, 1),
        "direct_joins_per_s_pipelined": round(count / seconds),
        "audit": audit,
        "visitor_key": "device:<22 chars> (like a real device id)",
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--visitors", type=int, default=100_000)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed (apt-get install -y wrk)")

    sys.path.insert(0, str(ROOT))
    from ticketing.launcher import ensure_services

    services = ensure_services(redis_db=3)
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "ticketing.settings", "DEBUG": "false",
           "LOG_LEVEL": "WARNING", "DB_POOL_MAX_SIZE": "4",
           # Every simulated visitor calls from 127.0.0.1: lift the per-IP budget.
           "API_THROTTLE_ANON": os.environ.get("API_THROTTLE_ANON", "100000000/min")}  # fmt: skip
    os.environ.update(env)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    import django

    django.setup()
    room_id, _event_id = setup_room()

    tmp = Path(tempfile.mkdtemp(prefix="kassa-bench-queue-"))
    procs: list[subprocess.Popen] = []
    report: dict = {"tool": "wrk -t2", "connections": args.connections, "duration_s": args.duration}
    try:
        app_port, noop_port, nginx_port = free_port(), free_port(), free_port()
        procs.append(gunicorn("ticketing.wsgi:application", app_port, env, tmp / "app.log"))
        procs.append(gunicorn("bench.noop_app:application", noop_port, env, tmp / "noop.log"))
        app, noop = f"http://127.0.0.1:{app_port}", f"http://127.0.0.1:{noop_port}"
        wait_http(app + "/healthz")
        wait_http(noop + "/noop/")
        ng = nginx(tmp, app_port, nginx_port)
        if ng:
            procs.append(ng)

        run = dict(duration=args.duration, connections=args.connections, tmp=tmp)
        redis_pid = services.redis.pid if services.redis is not None else None
        app_proc, noop_proc = procs[0], procs[1]
        report["noop"] = measured(lambda: wrk(noop + "/noop/", **run), noop_proc, None)
        # The project's own middleware stack around a trivial view (no Redis).
        report["healthz_full_stack"] = measured(
            lambda: wrk(app + "/healthz", **run), app_proc, redis_pid
        )
        # Every join has no device cookie: a new visitor each time (worst case: INCR + HSET).
        report["join"] = measured(
            lambda: wrk(
                f"{app}/api/v1/events/{SLUG}/queue/join/",
                script='wrk.method = "POST"\nwrk.body = "{}"\n'
                'wrk.headers["Content-Type"] = "application/json"\n',
                **run,
            ),
            app_proc,
            redis_pid,
        )
        with urllib.request.urlopen(urllib.request.Request(
            f"{app}/api/v1/events/{SLUG}/queue/join/", data=b"{}", method="POST",
            headers={"Content-Type": "application/json"})) as resp:  # fmt: skip
            token = json.loads(resp.read())["token"]
        # Pollers are returning browsers: they carry their device cookie.
        from django.core import signing

        from accounts.middleware import COOKIE, SALT

        cookie = f'wrk.headers["Cookie"] = "{COOKIE}={signing.dumps("benchdevice", salt=SALT)}"\n'
        report["status"] = measured(
            lambda: wrk(
                f"{app}/api/v1/queue/status/",
                script=f'wrk.headers["X-Queue-Token"] = "{token}"\n' + cookie,
                **run,
            ),
            app_proc,
            redis_pid,
        )
        report["state_direct"] = wrk(
            f"{app}/api/v1/events/{SLUG}/queue/state/", script=cookie, **run
        )
        if ng:
            try:
                wait_http(f"http://127.0.0.1:{nginx_port}/api/v1/events/{SLUG}/queue/state/", 20)
            except SystemExit:
                print((tmp / "nginx.out").read_text(), (tmp / "nginx-error.log").read_text())
                raise
            report["state_nginx_microcache"] = wrk(
                f"http://127.0.0.1:{nginx_port}/api/v1/events/{SLUG}/queue/state/", **run
            )
        noop_rps = report["noop"]["rps"]
        for name in ("healthz_full_stack", "join", "status", "state_direct",
                     "state_nginx_microcache"):  # fmt: skip
            if name in report:
                report[name]["ratio_to_noop"] = round(report[name]["rps"] / noop_rps, 2)
        from queueing import state

        st = state.read(room_id)
        numbers = state.conn().hvals(state.keys(room_id)["map"])
        report["join_audit"] = {
            "tail": int(st["tail"]),
            "visitors": len(numbers),
            "distinct_numbers": len(set(numbers)),
            "ok": int(st["tail"]) == len(numbers) == len(set(numbers)),
        }
        report["redis_memory"] = redis_bytes_per_visitor(args.visitors)
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
        services.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    if Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
        raise SystemExit("run as a module from the repository root: python -m bench.queue_bench")
    raise SystemExit(main())
