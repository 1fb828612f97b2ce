"""What the benchmarks share: the HTTP client, latency statistics, the stack's
processes (gunicorn, Celery, nginx) and the no-op Django ceiling.

Load tool: an asyncio driver on aiohttp (HTTP/1.1 keep-alive, one shared
connection pool, thousands of buyer coroutines in one process). Chosen by
measurement on this 2-core box against the no-op view, where client and server
share the cores so client CPU per request is what counts
(`python bench/probe_clients.py --locust <venv>/bin/locust`):
aiohttp ≈ 1,800 requests per client CPU-second, Locust FastHttpUser ≈ 1,500,
asyncio + httpx ≈ 400. Besides, a buyer's journey (join, wait, hold, pay,
poll) is plain sequential code in a coroutine rather than a Locust task state
machine. Cookies are kept per visitor by hand, so 40,000 visitors share a few
hundred connections instead of opening one each.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
NGINX = "/usr/sbin/nginx"


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


# --- statistics -------------------------------------------------------------


def percentile(sorted_samples: list[float], p: float) -> float:
    """Exact nearest-rank percentile of already sorted samples (no averaging,
    no binning: every sample is kept)."""
    if not sorted_samples:
        return math.nan
    rank = max(1, math.ceil(p / 100 * len(sorted_samples)))
    return sorted_samples[min(rank, len(sorted_samples)) - 1]


def latency_summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    ms = {f"p{p}": round(percentile(ordered, p) * 1000, 2) for p in (50, 95, 99)}
    ms["max"] = round(ordered[-1] * 1000, 2) if ordered else math.nan
    return ms


@dataclass
class Recorder:
    """Every request's latency by endpoint, and statuses."""

    samples: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    statuses: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))

    def add(self, endpoint: str, status: int, seconds: float) -> None:
        self.samples[endpoint].append(seconds)
        self.statuses[endpoint][status] += 1

    @property
    def total(self) -> int:
        return sum(len(s) for s in self.samples.values())

    def report(self, elapsed: float) -> dict[str, dict]:
        out = {}
        for endpoint in sorted(self.samples):
            samples = self.samples[endpoint]
            out[endpoint] = {
                "requests": len(samples),
                "rps": round(len(samples) / elapsed, 1) if elapsed > 0 else None,
                **latency_summary(samples),
                "statuses": {str(k): v for k, v in sorted(self.statuses[endpoint].items())},
            }
        return out

    def errors(self) -> dict[str, int]:
        """Responses that are not 2xx/3xx, by status, over all endpoints
        (0 = connection error or timeout)."""
        errors: Counter = Counter()
        for counts in self.statuses.values():
            for status, n in counts.items():
                if not 200 <= status < 400:
                    errors[str(status)] += n
        return dict(sorted(errors.items()))


# --- the HTTP client --------------------------------------------------------


@dataclass
class Response:
    status: int
    headers: Mapping[str, str]
    body: bytes

    def json(self):
        try:
            return json.loads(self.body or b"null")
        except ValueError:
            return None


class Jar(dict):
    """One visitor's cookies, and the address the visitor appears to come from
    (sent as X-Forwarded-For, as an edge proxy would: nginx appends 127.0.0.1,
    and Django with TRUSTED_PROXY_COUNT=2 sees the visitor's own address, so
    per-IP throttles apply per person as they would with 40,000 real phones)."""

    def __init__(self, *, forwarded_for: str | None = None) -> None:
        super().__init__()
        self.forwarded_for = forwarded_for


class Client:
    """One keep-alive pool for many simulated people; records every request.

    `cookies` is the caller's own dict (one per visitor): sent as the Cookie
    header and updated from Set-Cookie, never shared between visitors (the
    pool's own jar is a DummyCookieJar).
    """

    def __init__(
        self, base_url: str, recorder: Recorder, *, connections: int = 200, timeout: float = 30.0
    ) -> None:
        self.recorder = recorder
        self.base_url = base_url.rstrip("/")
        self.connections = connections
        self.timeout = timeout
        self._session: aiohttp.ClientSession | None = None

    @property
    def session(self) -> aiohttp.ClientSession:
        # Created lazily: aiohttp wants a running event loop.
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self.connections, ttl_dns_cache=None),
                cookie_jar=aiohttp.DummyCookieJar(),
                timeout=aiohttp.ClientTimeout(total=self.timeout),
                auto_decompress=True,
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def request(
        self,
        method: str,
        path: str,
        *,
        endpoint: str,
        cookies: dict[str, str] | None = None,
        headers: dict | None = None,
        json_body=None,
        form: dict | None = None,
    ) -> Response:
        headers = dict(headers or {})
        if cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
        if getattr(cookies, "forwarded_for", None):
            headers["X-Forwarded-For"] = cookies.forwarded_for
        url = path if path.startswith("http") else self.base_url + path
        started = time.perf_counter()
        try:
            async with self.session.request(
                method, url, headers=headers, json=json_body, data=form, allow_redirects=False
            ) as r:
                body = await r.read()
                status, response_headers = r.status, r.headers
                set_cookies = r.headers.getall("Set-Cookie", [])
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            self.recorder.add(endpoint, 0, time.perf_counter() - started)
            return Response(0, {}, str(exc).encode())
        self.recorder.add(endpoint, status, time.perf_counter() - started)
        if cookies is not None:
            for raw in set_cookies:
                name, _, rest = raw.partition("=")
                cookies[name.strip()] = rest.split(";", 1)[0]
        return Response(status, response_headers, body)


async def hammer(base_url: str, path: str, *, seconds: float, concurrency: int = 50) -> dict:
    """Closed-loop load on one URL with the same client the buyers use: the
    ceiling measurement (BENCH.md). Returns req/s, latencies and errors."""
    recorder = Recorder()
    client = Client(base_url, recorder, connections=concurrency)
    stop_at = time.monotonic() + seconds

    async def loop():
        while time.monotonic() < stop_at:
            await client.request("GET", path, endpoint=path)

    cpu0 = time.process_time()
    started = time.monotonic()
    await asyncio.gather(*(loop() for _ in range(concurrency)))
    elapsed = time.monotonic() - started
    cpu = time.process_time() - cpu0
    await client.close()
    report = recorder.report(elapsed)[path]
    report["client_cpu_seconds"] = round(cpu, 2)
    report["errors"] = recorder.errors()
    return report


# --- processes --------------------------------------------------------------


def django_in_process():
    """Django in this process for an in-process benchmark: the embedded
    Postgres/Redis unless the URLs are set, the settings, the per-IP API
    budget lifted (every request of these benches comes from 127.0.0.1, so it
    would measure the throttle: 429s), migrations, django.setup(). Returns the
    launcher's Services, to stop at the end."""
    from ticketing.launcher import ensure_services

    services = ensure_services()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ticketing.settings")
    os.environ.setdefault("API_THROTTLE_ANON", "1000000/min")
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, check=True
    )
    import django

    django.setup()
    return services


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def venv_bin(name: str) -> str:
    candidate = Path(sys.executable).parent / name
    return str(candidate) if candidate.exists() else (shutil.which(name) or name)


@dataclass
class Processes:
    """Children in their own process groups, stopped together, logs in `logdir`."""

    logdir: Path
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)
    services: object | None = None  # ticketing.launcher.Services, stopped after the children

    def start(self, name: str, argv: list[str], *, env: dict[str, str]) -> subprocess.Popen:
        log_file = (self.logdir / f"{name}.log").open("wb")
        proc = subprocess.Popen(
            argv,
            cwd=ROOT,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        self.procs[name] = proc
        return proc

    def dead(self) -> list[str]:
        return [name for name, p in self.procs.items() if p.poll() is not None]

    def stop(self, name: str) -> None:
        proc = self.procs.pop(name)
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()

    def stop_all(self) -> None:
        for name in reversed(list(self.procs)):
            self.stop(name)


def wait_http(url: str, *, processes: Processes, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if dead := processes.dead():
            raise SystemExit(f"{', '.join(dead)} exited; see {processes.logdir}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{url} did not answer 200 within {timeout:.0f} s; see {processes.logdir}")


def gunicorn_argv(app: str, *, port: int, workers: int) -> list[str]:
    return [
        venv_bin("gunicorn"),
        app,
        "--config",
        "python:ticketing.gunicorn_conf",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--backlog",
        "4096",
    ]


# --- nginx ------------------------------------------------------------------


def ensure_nginx() -> str:
    """Debian's nginx, installed when missing and we are root (as
    scripts/ensure-chromium.sh does for Chromium)."""
    if os.path.exists(NGINX):
        return NGINX
    if os.geteuid() == 0 and shutil.which("apt-get"):
        log("installing Debian nginx-light")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "nginx-light"],
            check=True,
            env=env,
            stdout=subprocess.DEVNULL,
        )
    if not os.path.exists(NGINX):
        raise SystemExit(f"{NGINX} is missing: apt-get install nginx-light (or nginx)")
    return NGINX


def nginx_render(
    template: str, *, prefix: Path, listen: str, upstream: str, static_root: Path
) -> str:
    """deploy/nginx.conf with its @PLACEHOLDERS@ filled in."""
    text = template
    for key, value in {
        "@PREFIX@": str(prefix),
        "@LISTEN@": listen,
        "@UPSTREAM@": upstream,
        "@STATIC_ROOT@": str(static_root),
    }.items():
        text = text.replace(key, value)
    if "@" in "".join(line.split("#", 1)[0] for line in text.splitlines()):
        raise ValueError("deploy/nginx.conf has a placeholder nginx_render() does not know")
    return text


def nginx_start(
    processes: Processes, *, prefix: Path, listen_port: int, upstream_port: int, static_root: Path
) -> None:
    nginx = ensure_nginx()
    prefix.mkdir(parents=True, exist_ok=True)
    conf = prefix / "nginx.conf"
    conf.write_text(
        nginx_render(
            (ROOT / "deploy" / "nginx.conf").read_text(),
            prefix=prefix,
            listen=f"127.0.0.1:{listen_port}",
            upstream=f"127.0.0.1:{upstream_port}",
            static_root=static_root,
        )
    )
    directives = "daemon off;" + (" user root;" if os.geteuid() == 0 else "")
    subprocess.run(
        [nginx, "-t", "-q", "-p", str(prefix), "-c", str(conf), "-g", directives], check=True
    )
    processes.start(
        "nginx", [nginx, "-p", str(prefix), "-c", str(conf), "-g", directives], env=dict(os.environ)
    )


def noop_ceiling(processes: Processes, *, workers: int, seconds: float, concurrency: int) -> dict:
    """BENCH.md's Django ceiling: bench/noop_app.py under the same gunicorn
    settings, loaded by the same client."""
    port = free_port()
    processes.start(
        "noop", gunicorn_argv("bench.noop_app", port=port, workers=workers), env=dict(os.environ)
    )
    try:
        wait_http(f"http://127.0.0.1:{port}/noop/", processes=processes)
        return asyncio.run(
            hammer(f"http://127.0.0.1:{port}", "/noop/", seconds=seconds, concurrency=concurrency)
        )
    finally:
        processes.stop("noop")


# --- CPU accounting -----------------------------------------------------------------

# Which part of the stack a process is, by its command line (first match).
CPU_PARTS = (
    ("driver", lambda pid, cmd: pid == os.getpid()),
    # The acquirer, run as its own process (bench/onsale.py): not the site's cost.
    ("sandbox", lambda pid, cmd: "sandbox.wsgi" in cmd or "outbox_work" in cmd),
    ("gunicorn", lambda pid, cmd: "gunicorn" in cmd),
    ("celery", lambda pid, cmd: "celery" in cmd),
    ("postgres", lambda pid, cmd: cmd.startswith("postgres") or "/postgres" in cmd),
    ("redis", lambda pid, cmd: "redis-server" in cmd),
    ("nginx", lambda pid, cmd: cmd.startswith("nginx")),
)


def _proc_cpu() -> dict[int, tuple[str, float]]:
    """Every process's part and CPU seconds (own + reaped children), from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    out: dict[int, tuple[str, float]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        pid = int(entry)
        try:
            with open(f"/proc/{pid}/stat", "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        part = next((name for name, match in CPU_PARTS if match(pid, cmd)), None)
        if part is None:
            continue
        # utime, stime, cutime, cstime are fields 14-17 (11-14 after the comm)
        out[pid] = (part, sum(int(x) for x in fields[11:15]) / tick)
    return out


def _machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot."""
    with open("/proc/stat") as f:
        values = [int(x) for x in f.readline().split()[1:]]
    tick = os.sysconf("SC_CLK_TCK")
    idle = values[3] + values[4]  # idle + iowait
    return (sum(values) - idle) / tick, sum(values) / tick


class CpuMeter:
    """CPU seconds each part of the stack used between start() and stop():
    where the two shared cores went (load driver vs web vs database ...)."""

    def start(self) -> None:
        self._before = _proc_cpu()
        self._machine = _machine_busy()
        self._t = time.monotonic()

    def stop(self) -> dict:
        after = _proc_cpu()
        parts: Counter = Counter()
        for pid, (part, seconds) in after.items():
            before = self._before.get(pid)
            parts[part] += seconds - (before[1] if before and before[0] == part else 0.0)
        busy0, total0 = self._machine
        busy1, total1 = _machine_busy()
        wall = time.monotonic() - self._t
        accounted = sum(parts.values())
        return {
            "wall_seconds": round(wall, 1),
            "machine_busy_seconds": round(busy1 - busy0, 1),
            "machine_capacity_seconds": round(total1 - total0, 1),
            "by_part": {k: round(v, 1) for k, v in parts.most_common()},
            "other": round(max(0.0, busy1 - busy0 - accounted), 1),
        }


# --- server-side latency ------------------------------------------------------------


def server_latency(metrics_url: str) -> dict[str, dict]:
    """Django's own request latency per view, from kassa_http_request_duration_seconds
    at /metrics (all gunicorn workers): the time inside Django, without the
    load driver's own delays or the wait in gunicorn's accept queue.

    Quantiles are the upper bounds of the histogram buckets that hold them
    ("p99 <= 0.15 s"), so they are never optimistic."""
    with urllib.request.urlopen(metrics_url, timeout=10) as response:
        return latency_from_metrics(response.read().decode())


def latency_from_metrics(text: str) -> dict[str, dict]:
    """server_latency's reading of a /metrics text."""
    from prometheus_client.parser import text_string_to_metric_families

    buckets: dict[str, dict[float, float]] = defaultdict(lambda: defaultdict(float))
    cpu: dict[str, float] = defaultdict(float)
    for family in text_string_to_metric_families(text):
        if family.name == "kassa_http_request_cpu_seconds":
            for sample in family.samples:
                if sample.name.endswith("_total"):
                    cpu[f"{sample.labels['method']} {sample.labels['view']}"] += sample.value
            continue
        if family.name != "kassa_http_request_duration_seconds":
            continue
        for sample in family.samples:
            if sample.name.endswith("_bucket"):
                view = f"{sample.labels['method']} {sample.labels['view']}"
                buckets[view][float(sample.labels["le"])] += sample.value
    out = {}
    for view, cumulative in sorted(buckets.items()):
        bounds = sorted(cumulative)
        total = cumulative[math.inf] if math.inf in cumulative else cumulative[bounds[-1]]
        if not total:
            continue
        # The serving thread's CPU seconds for this view (the site records it).
        row: dict = {"requests": int(total), "cpu_s": round(cpu.get(view, 0.0), 3)}
        for q in (50, 95, 99):
            bound = next(b for b in bounds if cumulative[b] >= q / 100 * total)
            row[f"p{q}_ms_at_most"] = None if bound == math.inf else round(bound * 1000)
        out[view] = row
    return out
