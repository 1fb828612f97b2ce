from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import redis

from ticketing import launcher


@pytest.fixture
def embedded_redis(tmp_path, monkeypatch):
    """Start the launcher's embedded Redis in a private data dir; yields a function
    that (re)starts it and returns a client; every server is stopped at the end."""
    monkeypatch.setattr(launcher, "DATA", tmp_path)
    procs = []

    def start() -> redis.Redis:
        proc, sock = launcher._start_redis()
        assert proc is not None  # ours, not one that `make run` already owns
        procs.append(proc)
        return redis.Redis(unix_socket_path=str(sock), decode_responses=True)

    yield start, procs
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.wait()


def test_embedded_redis_snapshots_and_keeps_an_append_only_file(embedded_redis):
    start, _ = embedded_redis
    client = start()
    assert client.config_get("save") == {"save": "60 100"}
    assert client.config_get("appendonly") == {"appendonly": "yes"}
    assert client.config_get("appendfsync") == {"appendfsync": "everysec"}


def test_embedded_redis_keeps_queued_work_through_a_kill_9(embedded_redis):
    """A Celery message in the broker survives the server dying without a shutdown."""
    start, procs = embedded_redis
    client = start()
    client.lpush("kassa", "a queued refund")
    time.sleep(1.5)  # appendfsync everysec: on disk within about a second
    procs[-1].send_signal(signal.SIGKILL)
    procs[-1].wait()
    client = start()
    assert client.lrange("kassa", 0, -1) == ["a queued refund"]


def _sleeper(marker: str, *, child: bool = False) -> list[str]:
    """A process that sleeps (starting a child sleeper of its own when asked, as
    gunicorn starts workers); `marker` in the argv lets /proc find them all."""
    code = "import subprocess, sys, time\n"
    if child:
        code += (
            "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)', "
            "sys.argv[1] + '-child'])\n"
        )
    code += "time.sleep(600)"
    return [sys.executable, "-c", code, marker]


def _processes_with(marker: str) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z" and any(arg.startswith(marker.encode()) for arg in argv):
            pids.append(int(entry.name))
    return pids


def _wait_for(predicate, timeout: float = 10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := predicate():
            return result
        time.sleep(0.05)
    raise AssertionError("timed out")


def _kill_and_wait_for_restart(supervisor: launcher.Supervisor, name: str) -> int:
    old = supervisor.pids()[name]
    os.kill(old, signal.SIGKILL)

    def restarted():
        supervisor.poll()
        new = supervisor.pids().get(name)
        return new if new not in (None, old) else None

    return _wait_for(restarted)


def test_supervisor_restarts_a_killed_child_with_a_growing_logged_back_off():
    marker = f"kassa-test-{uuid.uuid4().hex}"
    said: list[str] = []
    supervisor = launcher.Supervisor(
        {"worker": _sleeper(marker), "beat": _sleeper(marker + "-beat")},
        min_delay=0.2, max_delay=0.5, stable_after=60, say=said.append,
    )  # fmt: skip
    supervisor.start()
    try:
        beat = supervisor.pids()["beat"]
        for _ in range(3):
            _kill_and_wait_for_restart(supervisor, "worker")
        assert supervisor.pids()["beat"] == beat  # the others run on untouched
        exits = [
            re.fullmatch(
                r"worker exited with code -9 \(SIGKILL\) after [\d.]+ s; restarting it in (.+) s",
                line,
            )
            for line in said
            if "exited" in line
        ]
        assert all(exits), said
        assert [m[1] for m in exits] == ["0.2", "0.4", "0.5"]  # doubling, capped
    finally:
        supervisor.stop()
    assert _processes_with(marker) == []


def test_supervisor_starts_the_back_off_over_after_a_child_stayed_up():
    marker = f"kassa-test-{uuid.uuid4().hex}"
    said: list[str] = []
    supervisor = launcher.Supervisor(
        {"web": _sleeper(marker)}, min_delay=0.2, max_delay=5, stable_after=0.5, say=said.append
    )
    supervisor.start()
    try:
        _kill_and_wait_for_restart(supervisor, "web")
        _kill_and_wait_for_restart(supervisor, "web")  # quickly again: 0.4 s
        time.sleep(0.7)  # up longer than stable_after
        _kill_and_wait_for_restart(supervisor, "web")
    finally:
        supervisor.stop()
    delays = [line.rsplit("in ", 1)[1] for line in said if "exited" in line]
    assert delays == ["0.2 s", "0.4 s", "0.2 s"]


def test_sigterm_to_the_launcher_stops_every_child_and_what_they_started():
    """Kill -9 of a child is survived (restarted); SIGTERM (as Ctrl-C) ends all."""
    marker = f"kassa-test-{uuid.uuid4().hex}"
    commands = {
        "web": _sleeper(marker + "-web", child=True),
        "worker": _sleeper(marker + "-worker"),
    }
    script = (
        "import sys\n"
        "from ticketing.launcher import Supervisor, supervise\n"
        f"sys.exit(supervise(Supervisor({commands!r}, min_delay=0.1)))\n"
    )
    launcher_proc = subprocess.Popen(
        [sys.executable, "-c", script], cwd=launcher.ROOT, stderr=subprocess.PIPE, text=True
    )
    try:
        # web, its own child, and the worker
        _wait_for(lambda: len(_processes_with(marker)) == 3)
        (worker,) = _processes_with(marker + "-worker")
        os.kill(worker, signal.SIGKILL)
        _wait_for(lambda: _processes_with(marker + "-worker") not in ([], [worker]))
        assert launcher_proc.poll() is None  # one dead process does not stop the stack
        launcher_proc.send_signal(signal.SIGTERM)
        assert launcher_proc.wait(20) == 0
    finally:
        if launcher_proc.poll() is None:
            launcher_proc.kill()
    stderr = launcher_proc.stderr.read()
    assert "worker exited with code -9 (SIGKILL)" in stderr
    assert "[kassa] stopping" in stderr
    _wait_for(lambda: not _processes_with(marker), timeout=5)


def test_the_supervised_embedded_redis_comes_back_with_its_data_after_a_kill_9(embedded_redis):
    """`make run` adopts the Redis it started: a crashed Redis is restarted from
    its append-only file (the waiting room and the broker come back), and on
    stop it goes last, after the workers that talk to it."""
    start, procs = embedded_redis
    client = start()
    said: list[str] = []
    marker = f"kassa-test-{uuid.uuid4().hex}"
    rdir = launcher.DATA / "redis"
    supervisor = launcher.Supervisor(
        {"worker": _sleeper(marker), "redis": launcher.redis_command(rdir, rdir / "redis.sock")},
        adopted={"redis": procs[-1]},
        stop_last=("redis",),
        min_delay=0.2,
        say=said.append,
    )
    supervisor.start()
    try:
        assert supervisor.pids()["redis"] == procs[-1].pid  # adopted, not started twice
        client.set("queue:tail", 41)
        time.sleep(1.5)  # appendfsync everysec
        _kill_and_wait_for_restart(supervisor, "redis")
        assert _wait_for(lambda: _ping(client)) and client.get("queue:tail") == "41"
        assert any(line.startswith("redis exited with code -9") for line in said), said
        redis_pid = supervisor.pids()["redis"]
    finally:
        supervisor.stop()
    assert _processes_with(marker) == []
    assert not Path(f"/proc/{redis_pid}/cmdline").exists() or not _ping(client)


def _ping(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
