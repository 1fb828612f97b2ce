"""Which load tool gives more requests per client CPU-second here? Run once to
choose (the answer is in bench/common.py's docstring and README "Benchmarks"):

    python bench/probe_clients.py [--locust /path/to/venv/bin/locust] [--seconds 8]

Loads bench/noop_app.py under the project's gunicorn settings with the
bench's own client (bench/common.py; on asyncio's loop, and on uvloop's when
installed), aiohttp as the bench used it until issue 20, asyncio + httpx when
httpx is importable, and, when given, Locust FastHttpUser headless (Locust and
httpx are not project dependencies: install them in any venv to compare). The
figure that matters on a 2-core box where client and server share the cores is
requests per client CPU-second: every cycle the client burns is one the server
does not get.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# Run as a script, bench/ itself would be sys.path[0] and its modules would
# shadow the standard library's (a bench/queue.py hides `queue`): the
# repository root takes its place.
if sys.path[0] == str(Path(__file__).resolve().parent):
    sys.path.pop(0)
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import Processes, free_port, gunicorn_argv, hammer, log, wait_http

LOCUSTFILE = """
from locust import constant, task
from locust.contrib.fasthttp import FastHttpUser

class Noop(FastHttpUser):
    wait_time = constant(0)

    @task
    def noop(self):
        self.client.get("/noop/")
"""


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def probe_locust(locust: str, base: str, *, seconds: int, users: int, tmp: Path) -> dict:
    (tmp / "locustfile.py").write_text(LOCUSTFILE)
    cpu0 = children_cpu()
    started = time.monotonic()
    subprocess.run(
        [
            locust,
            "-f",
            str(tmp / "locustfile.py"),
            "--headless",
            "-u",
            str(users),
            "-r",
            str(users),
            "-t",
            f"{seconds}s",
            "-H",
            base,
            "--only-summary",
            "--json-file",
            str(tmp / "locust"),
            "--loglevel",
            "WARNING",
        ],
        check=False,
        capture_output=True,
    )
    elapsed = time.monotonic() - started
    cpu = children_cpu() - cpu0
    stats = json.loads((tmp / "locust.json").read_text())
    requests = sum(s["num_requests"] for s in stats)
    return {
        "requests": requests,
        "rps": round(requests / seconds, 1),
        "client_cpu_seconds": round(cpu, 2),
        "wall_seconds": round(elapsed, 1),
    }


async def _drive(get, *, seconds: int, concurrency: int) -> dict:
    """`concurrency` loops calling `get()` for `seconds`; requests, rate and
    this process's CPU seconds."""
    requests = 0
    stop_at = time.monotonic() + seconds

    async def loop():
        nonlocal requests
        while time.monotonic() < stop_at:
            await get()
            requests += 1

    cpu0 = time.process_time()
    await asyncio.gather(*(loop() for _ in range(concurrency)))
    cpu = time.process_time() - cpu0
    return {
        "requests": requests,
        "rps": round(requests / seconds, 1),
        "client_cpu_seconds": round(cpu, 2),
    }


async def probe_aiohttp(base: str, *, seconds: int, concurrency: int) -> dict:
    """aiohttp as the bench used it before issue 20 (one ClientSession, a
    DummyCookieJar, the per-request timeout, the body read)."""
    import aiohttp

    async with aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=concurrency, ttl_dns_cache=None),
        cookie_jar=aiohttp.DummyCookieJar(),
        timeout=aiohttp.ClientTimeout(total=30),
    ) as session:

        async def get():
            async with session.get(base + "/noop/", allow_redirects=False) as r:
                await r.read()

        return await _drive(get, seconds=seconds, concurrency=concurrency)


async def probe_httpx(base: str, *, seconds: int, concurrency: int) -> dict:
    import httpx

    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, limits=limits) as client:
        return await _drive(lambda: client.get("/noop/"), seconds=seconds, concurrency=concurrency)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--locust", help="path to a locust executable to compare with")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kassa-probe-") as tmpdir:
        tmp = Path(tmpdir)
        processes = Processes(tmp)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        processes.start(
            "noop", gunicorn_argv("bench.noop_app", port=port, workers=args.workers), env=None
        )
        try:
            wait_http(f"{base}/noop/", processes=processes)
            results = {
                "bench client": asyncio.run(
                    hammer(base, "/noop/", seconds=args.seconds, concurrency=args.concurrency)
                ),
            }
            with contextlib.suppress(ImportError):
                import uvloop

                results["bench client, uvloop"] = uvloop.run(
                    hammer(base, "/noop/", seconds=args.seconds, concurrency=args.concurrency)
                )
            try:
                results["aiohttp"] = asyncio.run(
                    probe_aiohttp(base, seconds=args.seconds, concurrency=args.concurrency)
                )
            except ImportError:
                log("aiohttp is not installed: skipped")
            try:
                results["httpx"] = asyncio.run(
                    probe_httpx(base, seconds=args.seconds, concurrency=args.concurrency)
                )
            except ImportError:
                log("httpx is not installed: skipped")
            if args.locust:
                results["locust_fasthttp"] = probe_locust(
                    args.locust, base, seconds=args.seconds, users=args.concurrency, tmp=tmp
                )
        finally:
            processes.stop_all()
    for name, r in results.items():
        per_cpu = r["requests"] / r["client_cpu_seconds"] if r["client_cpu_seconds"] else 0
        r["requests_per_client_cpu_second"] = round(per_cpu)
        log(
            f"{name:16} {r['rps']:8} req/s  {r['requests_per_client_cpu_second']:6} req per "
            f"client CPU-second"
        )
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
