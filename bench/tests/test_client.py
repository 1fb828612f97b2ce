"""The bench's own HTTP client (bench/common.py) and the visitors' naps
(bench/buyers.py), against a scripted HTTP/1.1 server in the same loop."""

from __future__ import annotations

import asyncio
import concurrent.futures
import gzip
import os
import signal
import subprocess
import time

import pytest

from bench import buyers
from bench.common import Client, Jar, Recorder, _proc_cpu, run_loop
from bench.onsale import cost_table


async def scripted_server(answers):
    """A server that answers each request with the next of `answers` (bytes,
    or a callable taking the request head and returning bytes or None to
    close without answering); returns (server, base URL, requests seen,
    connections accepted)."""
    seen: list[bytes] = []
    accepted = [0]
    queue = list(answers)

    async def handle(reader, writer):
        accepted[0] += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                body = await reader.readexactly(length) if length else b""
                seen.append(head + body)
                answer = queue.pop(0)
                if callable(answer):
                    answer = answer(head)
                if answer is None:
                    writer.close()
                    return
                writer.write(answer)
                await writer.drain()
                if b"Connection: close" in answer:
                    writer.close()
                    return
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    return server, f"http://127.0.0.1:{port}", seen, accepted


def run(coro):
    """asyncio.run in a thread of its own: a session-wide Playwright browser
    keeps an event loop running in the main thread (see test_driver.py)."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


def ok(body: bytes, *extra: str) -> bytes:
    head = "".join(f"{h}\r\n" for h in extra)
    return f"HTTP/1.1 200 OK\r\n{head}Content-Length: {len(body)}\r\n\r\n".encode() + body


def test_client_reads_length_chunked_gzip_and_close_delimited_bodies_on_one_connection():
    async def scenario():
        packed = gzip.compress(b'{"state": "open"}')
        server, base, seen, accepted = await scripted_server(
            [
                ok(b'{"a": 1}', "Set-Cookie: sessionid=abc; Path=/; HttpOnly"),
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                b'4\r\n{"b"\r\n4;x=y\r\n: 2}\r\n0\r\n\r\n',
                ok(packed, "Content-Encoding: gzip", "Set-Cookie: csrftoken=t1"),
                b"HTTP/1.1 303 See Other\r\nlocation: /x/3ds/\r\nContent-Length: 0\r\n\r\n",
                b"HTTP/1.1 204 No Content\r\n\r\n",
                b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the end",
            ]
        )
        recorder = Recorder()
        client = Client(base, recorder, connections=4)
        jar = Jar(forwarded_for="10.0.0.7")
        r1 = await client.request("GET", "/a/", endpoint="a", cookies=jar)
        r2 = await client.request("GET", "/b/", endpoint="b", cookies=jar)
        r3 = await client.request(
            "POST", "/c/?q=1", endpoint="c", cookies=jar, json_body={"hold": 5}
        )
        r4 = await client.request(
            "POST", "/d/", endpoint="d", headers={"X-CSRFToken": "t1"}, form={"code": "1 2"}
        )
        r5 = await client.request("DELETE", "/e/", endpoint="e")
        r6 = await client.request("GET", f"{base}/f/", endpoint="f")
        await client.close()
        server.close()
        return (r1, r2, r3, r4, r5, r6), jar, seen, accepted[0], recorder

    (r1, r2, r3, r4, r5, r6), jar, seen, accepted, recorder = run(scenario())
    assert (r1.status, r1.json()) == (200, {"a": 1})
    assert r2.json() == {"b": 2}
    assert r3.json() == {"state": "open"} and r3.json() is r3.json()  # parsed once
    assert r4.status == 303 and r4.headers.get("Location") == "/x/3ds/"
    assert (r5.status, r5.body) == (204, b"")
    assert r6.body == b"until the end"
    assert jar == {"sessionid": "abc", "csrftoken": "t1"}
    assert accepted == 1  # keep-alive: every request but after the close on one connection
    first, second, third, fourth = seen[0], seen[1], seen[2], seen[3]
    assert first.startswith(b"GET /a/ HTTP/1.1\r\nHost: 127.0.0.1:")
    assert b"X-Forwarded-For: 10.0.0.7\r\n" in first and b"Cookie:" not in first
    assert b"Accept-Encoding: gzip, deflate\r\n" in first
    assert b"Cookie: sessionid=abc\r\n" in second
    assert third.startswith(b"POST /c/?q=1 HTTP/1.1\r\n")
    assert b"Content-Type: application/json\r\n" in third and third.endswith(b'{"hold": 5}')
    assert b"Cookie" not in fourth
    assert fourth.endswith(b"\r\n\r\ncode=1+2")
    assert b"Content-Type: application/x-www-form-urlencoded\r\n" in fourth
    assert recorder.statuses["d"] == {303: 1} and recorder.total == 6


def test_client_retries_a_reused_connection_the_server_closed_and_times_out():
    async def scenario():
        server, base, _seen, accepted = await scripted_server(
            [ok(b"1"), lambda head: None, ok(b"2")]
        )
        recorder = Recorder()
        client = Client(base, recorder, connections=1, timeout=1.0)
        first = await client.request("GET", "/1/", endpoint="x")
        # The server drops the kept-alive connection on the next request
        # without answering: the client tries once more on a new one.
        second = await client.request("GET", "/2/", endpoint="x")
        return first, second, accepted[0], recorder, client, server

    async def timeout_scenario():
        async def silent(reader, writer):
            await reader.read(1000)
            await asyncio.sleep(5)

        server = await asyncio.start_server(silent, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        client = Client(f"http://127.0.0.1:{port}", Recorder(), timeout=1.0)
        started = time.monotonic()
        r = await client.request("GET", "/slow/", endpoint="slow")
        waited = time.monotonic() - started
        await client.close()
        server.close()
        return r, waited, client.recorder

    first, second, accepted, recorder, _client, _server = run(scenario())
    assert first.body == b"1" and second.body == b"2" and accepted == 2
    assert recorder.statuses["x"] == {200: 2}
    r, waited, rec = run(timeout_scenario())
    assert r.status == 0 and 0.9 < waited < 3.0 and rec.statuses["slow"] == {0: 1}


def test_client_keeps_to_its_connection_limit():
    async def scenario():
        active = [0, 0]  # now, most at once

        async def handle(reader, writer):
            try:
                while True:
                    await reader.readuntil(b"\r\n\r\n")
                    active[0] += 1
                    active[1] = max(active)
                    await asyncio.sleep(0.02)
                    active[0] -= 1
                    writer.write(ok(b"{}"))
                    await writer.drain()
            except (asyncio.IncompleteReadError, ConnectionError):
                writer.close()

        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        client = Client(f"http://127.0.0.1:{port}", Recorder(), connections=3)
        answers = await asyncio.gather(
            *(client.request("GET", "/", endpoint="n") for _ in range(20))
        )
        await client.close()
        server.close()
        return answers, active[1]

    answers, most = run(scenario())
    assert [a.status for a in answers] == [200] * 20
    assert most == 3


def test_announcement_naps_until_its_time_or_the_announcement():
    async def scenario():
        gone = buyers.Announcement()
        started = time.monotonic()
        assert await gone.nap(0.05) is False
        slept = time.monotonic() - started
        nappers = [asyncio.create_task(gone.nap(30)) for _ in range(100)]
        waiter = asyncio.create_task(gone.wait())
        await asyncio.sleep(0.01)
        gone.set()
        woke = await asyncio.wait_for(asyncio.gather(*nappers, waiter), 1)
        return slept, woke, gone

    slept, woke, gone = run(scenario())
    assert 0.04 < slept < 1.0
    assert woke == [True] * 101 and gone.is_set() and not gone._nappers


def test_cpu_meter_counts_only_this_process_tree():
    child = subprocess.Popen(["bash", "-c", "exec -a gunicorn-child sleep 20"])
    # A look-alike that is not ours: a daemon (its parent exits at once).
    stranger = int(
        subprocess.run(
            ["bash", "-c", "exec -a gunicorn-stranger sleep 20 >/dev/null 2>&1 & echo $!"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    )
    try:
        time.sleep(0.2)
        seen = _proc_cpu()
        names = {}
        for pid in seen:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                names[pid] = f.read().split(b"\0")[0]
        assert seen[os.getpid()][0] == "driver"
        assert seen[child.pid][0] == "gunicorn"
        assert stranger not in seen and b"gunicorn-stranger" not in names.values()
    finally:
        child.kill()
        child.wait()
        os.kill(stranger, signal.SIGKILL)


def test_cost_table_divides_by_buyers_and_compares_with_the_noop():
    result = {
        "buyers": 100,
        "cpu": {
            "by_part": {"gunicorn": 10.0, "postgres": 4.0, "driver": 1.5, "sandbox": 0.5},
            "other": 2.0,
        },
        "noop": {"gunicorn_cpu_ms_per_request": 0.5},
        "server_latency": {
            "POST hold-create": {"requests": 100, "cpu_s": 0.9},
            "GET queue-status": {"requests": 1000, "cpu_s": 0.1},
        },
        "load_average": {"start": [1.0, 1.0, 1.0], "end": [2.0, 1.5, 1.0]},
        "time_to_sell_out_s": 300.0,
        "time_to_99pct_sold_s": 290.0,
        "step_p99_ms": {"hold": 120.0, "order": 80.0, "payment_start": 90.0},
    }
    text = "\n".join(cost_table(result))
    assert "load driver (this process)" in text and "15.0" in text  # 1.5 s / 100 buyers
    assert "= the site" in text and "140.0" in text  # 14 s / 100 buyers
    # Outside views: (10 - 1.0) s / 1,100 requests = 8.18 ms; a hold is 9 + 8.18 ms,
    # so 0.5 / 17.18 of a no-op.
    hold = next(line for line in text.splitlines() if "POST hold-create" in line)
    assert hold.split()[-1] == "0.029"
    assert "hold 120.0, order 80.0, payment start 90.0" in text


def in_thread(fn, *args):
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(fn, *args).result()


async def loop_module() -> str:
    return type(asyncio.get_running_loop()).__module__


def test_run_loop_uses_asyncio_when_told(monkeypatch):
    monkeypatch.setenv("BENCH_LOOP", "asyncio")
    assert in_thread(run_loop, loop_module()).startswith("asyncio")


def test_run_loop_prefers_uvloop_when_installed(monkeypatch):
    pytest.importorskip("uvloop")
    monkeypatch.delenv("BENCH_LOOP", raising=False)
    assert in_thread(run_loop, loop_module()).startswith("uvloop")
