"""What the benchmarks share: the HTTP client, latency statistics, the stack's
processes (gunicorn, Celery, nginx) and the no-op Django ceiling.

Load tool: one asyncio process, thousands of buyer coroutines, and a lean
HTTP/1.1 client of its own (Client below: asyncio protocols, keep-alive, one
pool of connections). Chosen by measurement on this 2-core box against the
no-op view, where client and server share the cores so client CPU per request
is what counts (`python bench/probe_clients.py [--locust <venv>/bin/locust]`;
bench/README.md, "Driver cost"): this client ≈ 5,000 requests per client
CPU-second on asyncio's loop, ≈ 6,500 on uvloop's; aiohttp ≈ 3,000 (1,800 in
an earlier round), Locust FastHttpUser ≈ 1,500, asyncio + httpx ≈ 400.
Besides, a buyer's journey (join, wait, hold, pay, poll) is plain sequential
code in a coroutine rather than a Locust task state machine. Cookies are kept
per visitor by hand, so 40,000 visitors share a few hundred connections
instead of opening one each.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import functools
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
import zlib
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode, urlsplit

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

# What every request says about the client, byte for byte what aiohttp 3.14
# sent (the site sees the same requests as before; nginx gzips the same bodies).
USER_AGENT = "Python/3.11 aiohttp/3.14.5"
_FIXED_HEADERS = b"Accept: */*\r\nAccept-Encoding: gzip, deflate\r\nUser-Agent: " + (
    USER_AGENT.encode() + b"\r\n"
)
_NO_BODY_STATUSES = frozenset((204, 304))


class Headers(dict):
    """Response headers by lower-cased name (the last value of a repeated
    one; Set-Cookie's are kept apart, in order); looked up in any case."""

    def get(self, name: str, default=None):
        return dict.get(self, name.lower(), default)

    def __getitem__(self, name: str) -> str:
        return dict.__getitem__(self, name.lower())

    def __contains__(self, name) -> bool:
        return dict.__contains__(self, name.lower())


@dataclass
class Response:
    status: int
    headers: Mapping[str, str]
    body: bytes
    _json: object = field(default=..., repr=False, compare=False)

    def json(self):
        if self._json is ...:
            try:
                self._json = json.loads(self.body or b"null")
            except ValueError:
                self._json = None
        return self._json


class Jar(dict):
    """One visitor's cookies, and the address the visitor appears to come from
    (sent as X-Forwarded-For, as an edge proxy would: nginx appends 127.0.0.1,
    and Django with TRUSTED_PROXY_COUNT=2 sees the visitor's own address, so
    per-IP throttles apply per person as they would with 40,000 real phones)."""

    def __init__(self, *, forwarded_for: str | None = None) -> None:
        super().__init__()
        self.forwarded_for = forwarded_for


class HTTPError(OSError):
    """The connection failed or the response could not be read."""


class _Connection(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection, one request at a time: the
    response is parsed as it arrives (Content-Length, chunked, or until the
    peer closes) and handed to the waiting future whole."""

    __slots__ = (
        "buffer",
        "chunked",
        "closed",
        "deadline",
        "future",
        "head",
        "length",
        "received",
        "transport",
        "used",
    )

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.future: asyncio.Future | None = None
        self.buffer = bytearray()
        self.head: tuple[int, Headers, list[str], bool] | None = None
        self.length = -1  # body bytes expected; -1: until close (or chunked)
        self.chunked = False
        self.closed = False
        self.deadline = 0.0
        self.used = 0  # requests sent on this connection
        self.received = False  # any byte of the current response

    def connection_made(self, transport) -> None:
        self.transport = transport

    def connection_lost(self, exc) -> None:
        self.closed = True
        future, self.future = self.future, None
        if future is not None and not future.done():
            if self.head is not None and self.length < 0 and not self.chunked:
                # A body delimited by the close: complete now.
                future.set_result(self._finish(bytes(self.buffer)))
            else:
                future.set_exception(HTTPError(str(exc or "connection closed by the server")))

    def send(self, data: bytes, future: asyncio.Future, deadline: float) -> None:
        self.future, self.deadline = future, deadline
        self.buffer.clear()
        self.head, self.length, self.chunked, self.received = None, -1, False, False
        self.used += 1
        self.transport.write(data)

    def data_received(self, data: bytes) -> None:
        self.received = True
        buffer = self.buffer
        buffer += data
        if self.future is None:
            return  # nobody asked: dropped with the connection
        if self.head is None:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            try:
                self._parse_head(bytes(buffer[:end]))
            except (ValueError, IndexError) as exc:
                self._fail(HTTPError(f"unreadable response head: {exc}"))
                return
            del buffer[: end + 4]
        if self.chunked:
            body = self._dechunk()
            if body is None:
                return
        elif self.length >= 0:
            if len(buffer) < self.length:
                return
            body = bytes(buffer[: self.length])
        else:
            return  # until the peer closes
        future, self.future = self.future, None
        if not future.done():
            future.set_result(self._finish(body))

    def _parse_head(self, raw: bytes) -> None:
        lines = raw.decode("latin-1").split("\r\n")
        version, _, rest = lines[0].partition(" ")
        status = int(rest[:3])
        headers = Headers()
        cookies: list[str] = []
        for line in lines[1:]:
            name, _, value = line.partition(":")
            name = name.strip().lower()
            value = value.strip()
            if name == "set-cookie":
                cookies.append(value)
            headers[name] = value
        connection = headers.get("connection", "").lower()
        keep = "close" not in connection if version == "HTTP/1.1" else "keep-alive" in connection
        self.head = (status, headers, cookies, keep)
        if status in _NO_BODY_STATUSES or 100 <= status < 200:
            self.length = 0
        elif "chunked" in headers.get("transfer-encoding", "").lower():
            self.chunked = True
        elif "content-length" in headers:
            self.length = int(headers["content-length"])
        else:
            self.head = (status, headers, cookies, False)  # read until close

    def _dechunk(self) -> bytes | None:
        """The whole body once every chunk (and the trailer) is in, else None."""
        buffer, pos, parts = self.buffer, 0, []
        while True:
            eol = buffer.find(b"\r\n", pos)
            if eol < 0:
                return None
            size = int(bytes(buffer[pos:eol]).split(b";", 1)[0], 16)
            if size == 0:  # the last chunk: complete with the (empty) trailer's blank line
                return b"".join(parts) if buffer.find(b"\r\n\r\n", eol) >= 0 else None
            start = eol + 2
            if len(buffer) < start + size + 2:
                return None
            parts.append(bytes(buffer[start : start + size]))
            pos = start + size + 2

    def _finish(self, body: bytes) -> tuple[int, Headers, list[str], bytes, bool]:
        status, headers, cookies, keep = self.head
        encoding = headers.get("content-encoding")
        if encoding and body:
            if encoding == "gzip":
                body = zlib.decompress(body, 16 + zlib.MAX_WBITS)
            elif encoding == "deflate":
                try:
                    body = zlib.decompress(body)
                except zlib.error:
                    body = zlib.decompress(body, -zlib.MAX_WBITS)
        return status, headers, cookies, body, keep

    def _fail(self, exc: Exception) -> None:
        future, self.future = self.future, None
        if future is not None and not future.done():
            future.set_exception(exc)
        self.close()

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()


class Client:
    """One keep-alive pool for many simulated people; records every request.

    `cookies` is the caller's own dict (one per visitor): sent as the Cookie
    header and updated from Set-Cookie, never shared between visitors.

    A lean HTTP/1.1 client on asyncio protocols (bench/README.md, "Driver
    cost"): at most `connections` connections to the one host, reused
    (keep-alive), one request at a time each; no redirects followed; a
    request gets `timeout` seconds (checked once a second by one timer for
    the whole pool, not one per request); a reused connection the server
    closed before answering is retried once on a new one, as browsers do.
    Another host (the sandbox acquirer's own port) gets a pool of its own.
    """

    def __init__(
        self, base_url: str, recorder: Recorder, *, connections: int = 200, timeout: float = 30.0
    ) -> None:
        self.recorder = recorder
        self.base_url = base_url.rstrip("/")
        self.connections = connections
        self.timeout = timeout
        self._pools: dict[tuple[str, int], _Pool] = {}
        self._closed = False

    def _pool(self, host: str, port: int) -> _Pool:
        pool = self._pools.get((host, port))
        if pool is None:
            pool = self._pools[(host, port)] = _Pool(host, port, self.connections, self.timeout)
        return pool

    async def close(self) -> None:
        self._closed = True
        for pool in self._pools.values():
            pool.close()
        self._pools.clear()

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
        url = path if path.startswith("http") else self.base_url + path
        started = time.perf_counter()
        try:
            host, port, target, host_header = _split(url)
            lines = [f"{method} {target} HTTP/1.1\r\nHost: {host_header}\r\n"]
            if headers:
                lines.extend(f"{k}: {v}\r\n" for k, v in headers.items())
            if cookies:
                lines.append("Cookie: " + "; ".join(f"{k}={v}" for k, v in cookies.items()))
                lines.append("\r\n")
            forwarded = getattr(cookies, "forwarded_for", None)
            if forwarded:
                lines.append(f"X-Forwarded-For: {forwarded}\r\n")
            if json_body is not None:
                body = json.dumps(json_body).encode()
                lines.append("Content-Type: application/json\r\n")
            elif form is not None:
                body = urlencode(form).encode()
                lines.append("Content-Type: application/x-www-form-urlencoded\r\n")
            else:
                body = b""
            if body or method in ("POST", "PUT", "PATCH"):
                lines.append(f"Content-Length: {len(body)}\r\n")
            data = "".join(lines).encode("latin-1") + _FIXED_HEADERS + b"\r\n" + body
            status, response_headers, set_cookies, response_body = await self._pool(
                host, port
            ).send(data)
        except (OSError, TimeoutError, ValueError, UnicodeError) as exc:
            self.recorder.add(endpoint, 0, time.perf_counter() - started)
            return Response(0, {}, str(exc).encode())
        self.recorder.add(endpoint, status, time.perf_counter() - started)
        if cookies is not None:
            for raw in set_cookies:
                name, _, rest = raw.partition("=")
                cookies[name.strip()] = rest.split(";", 1)[0]
        return Response(status, response_headers, response_body)


@functools.lru_cache(maxsize=64)
def _origin(scheme_netloc: str) -> tuple[str, int, str]:
    parts = urlsplit(scheme_netloc)
    if parts.scheme != "http":
        raise ValueError(f"only http:// is supported, not {scheme_netloc}")
    return parts.hostname or "127.0.0.1", parts.port or 80, parts.netloc


def _split(url: str) -> tuple[str, int, str, str]:
    """(host, port, request target, Host header) of an http:// URL."""
    slash = url.find("/", url.find("//") + 2)
    origin, target = (url, "/") if slash < 0 else (url[:slash], url[slash:])
    host, port, netloc = _origin(origin)
    return host, port, target.split("#", 1)[0], netloc


class _Pool:
    """Keep-alive connections to one host:port, at most `limit` at once;
    callers beyond that wait in line for a free one."""

    def __init__(self, host: str, port: int, limit: int, timeout: float) -> None:
        self.host, self.port, self.limit, self.timeout = host, port, limit, timeout
        self.idle: list[_Connection] = []
        self.busy: set[_Connection] = set()
        self.opening = 0
        self.waiters: collections.deque[tuple[float, asyncio.Future]] = collections.deque()
        self.loop = asyncio.get_running_loop()
        self._sweeper: asyncio.TimerHandle | None = None

    async def send(self, data: bytes) -> tuple[int, Headers, list[str], bytes]:
        deadline = self.loop.time() + self.timeout
        for attempt in (0, 1):
            conn = await self._acquire(deadline)
            reused = conn.used > 0
            future = self.loop.create_future()
            conn.send(data, future, deadline)
            self.busy.add(conn)
            if self._sweeper is None:
                self._sweeper = self.loop.call_later(1.0, self._sweep)
            try:
                status, headers, cookies, body, keep = await future
            except HTTPError:
                self._release(conn, keep=False)
                if attempt == 0 and reused and not conn.received:
                    continue  # the server had closed the idle connection: once more
                raise
            except BaseException:
                self._release(conn, keep=False)
                raise
            self._release(conn, keep=keep)
            return status, headers, cookies, body
        raise AssertionError("unreachable")

    async def _acquire(self, deadline: float) -> _Connection:
        while True:
            while self.idle:
                conn = self.idle.pop()
                if not conn.closed:
                    return conn
            if len(self.busy) + self.opening < self.limit:
                break
            waiter = self.loop.create_future()
            self.waiters.append((deadline, waiter))
            if self._sweeper is None:
                self._sweeper = self.loop.call_later(1.0, self._sweep)
            try:
                await waiter  # a connection was released (or the wait timed out)
            except asyncio.CancelledError:
                if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                    self._wake_one()  # pass on the turn this caller will not take
                raise
        self.opening += 1
        try:
            _transport, conn = await asyncio.wait_for(
                self.loop.create_connection(_Connection, self.host, self.port),
                max(0.0, deadline - self.loop.time()),
            )
        finally:
            self.opening -= 1
        conn.transport.get_extra_info("socket").setsockopt(
            socket.IPPROTO_TCP, socket.TCP_NODELAY, 1
        )
        return conn

    def _release(self, conn: _Connection, *, keep: bool) -> None:
        self.busy.discard(conn)
        if keep and not conn.closed:
            self.idle.append(conn)
        else:
            conn.close()
        self._wake_one()

    def _wake_one(self) -> None:
        while self.waiters:
            _deadline, waiter = self.waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    def _sweep(self) -> None:
        """Once a second while anything is in flight: fail what is past its deadline."""
        now = self.loop.time()
        for conn in [c for c in self.busy if c.deadline <= now]:
            conn._fail(TimeoutError(f"no response within {self.timeout:.0f} s"))
        if self.waiters and any(deadline <= now for deadline, _ in self.waiters):
            kept: collections.deque = collections.deque()
            for deadline, waiter in self.waiters:
                if waiter.done():
                    continue
                if deadline > now:
                    kept.append((deadline, waiter))
                else:
                    waiter.set_exception(TimeoutError("no free connection in time"))
            self.waiters = kept
        more = self.busy or self.waiters
        self._sweeper = self.loop.call_later(1.0, self._sweep) if more else None

    def close(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None
        for conn in [*self.idle, *self.busy]:
            conn.close()
        self.idle.clear()


def run_loop(coro):
    """asyncio.run(coro) on uvloop's event loop when it is installed (a dev
    dependency: about half the driver's CPU per request, bench/README.md),
    on asyncio's own otherwise or with BENCH_LOOP=asyncio."""
    if os.environ.get("BENCH_LOOP", "uvloop") == "uvloop":
        try:
            import uvloop
        except ImportError:
            pass
        else:
            return uvloop.run(coro)
    return asyncio.run(coro)


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
        meter = CpuMeter()
        meter.start()
        report = run_loop(
            hammer(f"http://127.0.0.1:{port}", "/noop/", seconds=seconds, concurrency=concurrency)
        )
        cpu = meter.stop()["by_part"]
        # What one no-op request costs gunicorn, whole (WSGI, Django, the
        # response): the unit endpoints are compared with (onsale.py).
        if report["requests"]:
            report["gunicorn_cpu_ms_per_request"] = round(
                1000 * cpu.get("gunicorn", 0.0) / report["requests"], 3
            )
        return report
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


def proc_stat(pid: int) -> tuple[int, float, str] | None:
    """(parent pid, CPU seconds own + reaped children, command line) of a
    process from /proc; None once it is gone."""
    tick = os.sysconf("SC_CLK_TCK")
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return None
    # ppid is field 4 (1 after the comm); utime, stime, cutime, cstime are
    # fields 14-17 (11-14 after it)
    return int(fields[1]), sum(int(x) for x in fields[11:15]) / tick, cmd


def _proc_cpu() -> dict[int, tuple[str, float]]:
    """Every process of OUR stack with its part and CPU seconds (own + reaped
    children), from /proc.

    Ours: this process and its descendants (gunicorn, Celery, nginx, the
    sandbox, a Redis the launcher started), and the trees of servers whose
    command line names this worktree's .data/ (the embedded Postgres, which
    daemonises). Other benchmarks' stacks on the same box (same names) are
    not counted; nor are system servers given by DATABASE_URL / REDIS_URL.
    """
    me = os.getpid()
    data_dir = str(ROOT / ".data") + "/"
    procs: dict[int, tuple[int, str, float]] = {}  # pid: (ppid, cmd, seconds)
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (stat := proc_stat(int(entry))):
            procs[int(entry)] = (stat[0], stat[2], stat[1])
    ours: dict[int, bool] = {}

    def is_ours(pid: int) -> bool:
        chain = []
        while pid not in ours:
            if pid == me or pid not in procs:
                ours[pid] = pid == me
                break
            if data_dir in procs[pid][1]:
                ours[pid] = True
                break
            chain.append(pid)
            pid = procs[pid][0]
        for p in chain:
            ours[p] = ours[pid]
        return ours[pid]

    out: dict[int, tuple[str, float]] = {}
    for pid, (_ppid, cmd, seconds) in procs.items():
        if not is_ours(pid):
            continue
        part = next((name for name, match in CPU_PARTS if match(pid, cmd)), None)
        if part is not None:
            out[pid] = (part, seconds)
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
            "by_part": {k: round(v, 2) for k, v in parts.most_common()},
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
