"""The real stack for the journeys, booted the way `make run` boots it.

`python -m ticketing.launcher run` in a subprocess, on a free port, against a
database of its own (created on the PostgreSQL server the test run uses and
dropped afterwards), its own Redis database on the same Redis, and a temporary
KASSA_DATA_DIR. SITE_URL is never set: the stack must find its own URL from
PORT, as a developer's `PORT=8201 make run` does.
"""

from __future__ import annotations

import email
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from email import policy
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from ticketing.env import TEST_REDIS_DBS, redis_url_db, redis_url_with_db

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / ".artifacts" / "journeys"
BOOT_TIMEOUT = 420  # migrate + the 28,000-place demo load on 2 busy cores
STOP_TIMEOUT = 60
# Files kassa_bootstrap writes for the developer; a journey stack must keep its
# own under KASSA_DATA_DIR and leave these alone.
DEVELOPER_FILES = ("staff_login.txt", "demo_partner_key.txt")
# What makes a process one of `make test`'s xdist workers (ticketing.env): a
# stack it starts is not one.
TEST_WORKER_ENV = ("PYTEST_XDIST_WORKER", "PYTEST_XDIST_WORKER_COUNT", "KASSA_TEST_REDIS_DBS")
# The console e-mail backend ends every message with a line of 79 dashes.
MAIL_SEPARATOR = "-" * 79


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def database_url_with_name(url: str, name: str) -> str:
    """The same server and credentials, another database (TCP or ?host=/socket)."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


def _claim_redis_db(url: str) -> str:
    """An empty Redis database other than the test run's own (and other than 0-2:
    `make run`, `make test` and the bench use those), claimed with SET NX so two
    journey runs on one Redis never share one."""
    import redis

    taken = {*TEST_REDIS_DBS, redis_url_db(url)}
    start = (redis_url_db(url) + 8) % 16
    for offset in range(16):
        db = (start + offset) % 16
        if db in taken:
            continue
        candidate = redis_url_with_db(url, db)
        conn = redis.Redis.from_url(candidate)
        try:
            if conn.dbsize() == 0 and conn.set("kassa:journeys:claim", os.getpid(), nx=True):
                return candidate
        finally:
            conn.close()
    raise RuntimeError("no empty Redis database left for the journey stack")


def _pg_connect(url: str, dbname: str):
    import psycopg

    # psycopg takes the same URL forms as settings.py (TCP or ?host=/socket/dir).
    return psycopg.connect(database_url_with_name(url, dbname), autocommit=True)


def _proc_children() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    return children


def _start_time(pid: int) -> str | None:
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[19]
    except OSError:
        return None


def _descendants(pid: int) -> dict[int, str]:
    """pid -> start time of every process below `pid` (start time: pids get reused)."""
    tree = _proc_children()
    found: dict[int, str] = {}
    todo = list(tree.get(pid, []))
    while todo:
        child = todo.pop()
        started = _start_time(child)
        if started is not None:
            found[child] = started
        todo.extend(tree.get(child, []))
    return found


def _alive(pid: int, started: str) -> bool:
    stat = Path("/proc") / str(pid) / "stat"
    try:
        state = stat.read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return _start_time(pid) == started and state != "Z"


@dataclass
class Stack:
    url: str
    port: int
    database_url: str
    redis_url: str
    data_dir: Path
    log_path: Path
    boot_seconds: float = 0.0
    proc: subprocess.Popen | None = None
    children: dict[int, str] = field(default_factory=dict)
    developer_files_written: list[str] = field(default_factory=list)

    def log_text(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    def mails_to(self, address: str) -> list[email.message.EmailMessage]:
        """The messages the console e-mail backend printed for `address`, oldest first."""
        found = []
        for chunk in self.log_text().split(MAIL_SEPARATOR):
            start = chunk.find("Content-Type:")
            if start < 0 or f"To: {address}" not in chunk:
                continue
            message = email.message_from_string(chunk[start:].lstrip(), policy=policy.default)
            if address in str(message.get("To", "")):
                found.append(message)
        return found

    def latest_signin_code(self, address: str, *, timeout: float = 20) -> str:
        """The one-time code of the newest sign-in mail to `address` (as printed by
        the console backend: what the demo offers a person instead of a mailbox)."""
        deadline = time.monotonic() + timeout
        while True:
            for message in reversed(self.mails_to(address)):
                body = message.get_body(preferencelist=("plain",))
                match = re.search(r"\b(\d{6})\b", body.get_content() if body else "")
                if match:
                    return match.group(1)
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"no sign-in code for {address} in {self.log_path}:\n{self.log_tail()}"
                )
            time.sleep(0.2)


def _snapshot(paths: list[Path]) -> dict[Path, bytes | None]:
    return {p: (p.read_bytes() if p.exists() else None) for p in paths}


def _wait_ready(stack: Stack, started: float) -> None:
    deadline = started + BOOT_TIMEOUT
    while True:
        if stack.proc.poll() is not None:
            raise RuntimeError(
                f"the launcher exited ({stack.proc.returncode}) before /readyz answered; "
                f"{stack.log_path}:\n{stack.log_tail()}"
            )
        try:
            with urllib.request.urlopen(f"{stack.url}/readyz", timeout=2) as response:  # noqa: S310
                if response.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"/readyz did not answer within {BOOT_TIMEOUT}s; "
                f"{stack.log_path}:\n{stack.log_tail()}"
            )
        time.sleep(0.5)


def launcher_spawn(stack, env: dict[str, str]) -> float:
    """`python -m ticketing.launcher run` as `make run` starts it, its output in
    stack.log_path; returns when it was started (time.monotonic())."""
    started = time.monotonic()
    with stack.log_path.open("wb") as log:
        stack.proc = subprocess.Popen(
            [sys.executable, "-m", "ticketing.launcher", "run"],
            cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,  # our SIGINT reaches the launcher alone, like Ctrl-C
        )  # fmt: skip
    return started


def launcher_wait(stack, started: float, *, banner_timeout: float = 20) -> None:
    """Until /readyz answers and the banner is printed; sets stack.boot_seconds."""
    _wait_ready(stack, started)
    stack.boot_seconds = time.monotonic() - started
    # The launcher prints its banner after /readyz; give it a moment, then
    # see it is still up (it stops everything when it cannot start).
    deadline = time.monotonic() + banner_timeout
    while "Ctrl-C stops everything" not in stack.log_text():
        if stack.proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(
                f"the launcher did not reach its banner; {stack.log_path}:\n" + stack.log_tail()
            )
        time.sleep(0.2)


def stack_start(tmp_dir: Path) -> Stack:
    base_db = os.environ["DATABASE_URL"]
    base_redis = os.environ["REDIS_URL"]
    name = f"kassa_journeys_{secrets.token_hex(4)}"
    with _pg_connect(base_db, "postgres") as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    port = int(os.environ.get("KASSA_JOURNEYS_PORT") or free_port())
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    stack = Stack(
        url=f"http://127.0.0.1:{port}",
        port=port,
        database_url=database_url_with_name(base_db, name),
        redis_url=_claim_redis_db(base_redis),
        data_dir=tmp_dir,
        log_path=ARTIFACTS / "stack.log",
    )
    env = {
        **os.environ,
        "PORT": str(port),
        "DATABASE_URL": stack.database_url,
        "REDIS_URL": stack.redis_url,
        "KASSA_DATA_DIR": str(tmp_dir),
        "PYTHONUNBUFFERED": "1",
    }
    # SITE_URL must follow PORT by itself; the rest belongs to the test process.
    own = ("SITE_URL", "DJANGO_ALLOW_ASYNC_UNSAFE", "PROMETHEUS_MULTIPROC_DIR", *TEST_WORKER_ENV)
    for key in own:
        env.pop(key, None)
    developer = _snapshot([ROOT / ".data" / f for f in DEVELOPER_FILES])
    started = launcher_spawn(stack, env)
    try:
        launcher_wait(stack, started)
        stack.children = _descendants(stack.proc.pid)
    except BaseException:
        stack_stop(stack)
        raise
    finally:
        # Never leave a developer's .data/ files replaced by this throwaway stack's.
        for path, before in developer.items():
            after = path.read_bytes() if path.exists() else None
            if after != before:
                stack.developer_files_written.append(path.name)
                if before is None:
                    path.unlink()
                else:
                    path.write_bytes(before)
    return stack


def launcher_interrupt(proc: subprocess.Popen | None, children: dict[int, str] | None) -> list[str]:
    """Ctrl-C the launcher as a developer does and wait for it; kill what it
    left of `children` (pid -> start time; None: its processes right now).
    Returns what went wrong."""
    problems: list[str] = []
    if proc is None:
        return problems
    if children is None:
        children = _descendants(proc.pid)
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGINT)
        try:
            proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            problems.append(f"the launcher did not stop within {STOP_TIMEOUT}s of SIGINT")
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        if proc.returncode != 0:
            problems.append(f"the launcher exited with {proc.returncode} on SIGINT")
    lingering = [pid for pid, started in children.items() if _alive(pid, started)]
    if lingering:
        problems.append(f"processes left running after the launcher stopped: {lingering}")
        for pid in lingering:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    return problems


def stack_stop(stack: Stack) -> list[str]:
    """Ctrl-C the launcher, wait for it, drop its database; return what went wrong."""
    problems = launcher_interrupt(stack.proc, stack.children or None)
    import redis

    conn = redis.Redis.from_url(stack.redis_url)
    try:
        conn.flushdb()
    finally:
        conn.close()
    name = urlsplit(stack.database_url).path.strip("/")
    with _pg_connect(os.environ["DATABASE_URL"], "postgres") as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return problems
