"""The stack the faults are injected into: `make run`'s own, with its own servers.

`python -m ticketing.launcher run` on a free port with a fresh KASSA_DATA_DIR
and neither DATABASE_URL nor REDIS_URL: the launcher starts an embedded
PostgreSQL and an embedded Redis of its own there, so this suite may restart,
flush and kill them without touching the servers the rest of the test run
uses. The processes are found the way an operator finds them (`ps`): by
their command lines under the launcher.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from journeys.stack import (
    TEST_WORKER_ENV,
    _alive,
    _descendants,
    free_port,
    launcher_interrupt,
    launcher_spawn,
    launcher_wait,
)

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / ".artifacts" / "faults"
DEMO_EVENT = "backstreet-boys-almaty"

# What the suite sets is what an operator may set (README's environment
# table): short reconciliation and outbox periods so a fault's money settles
# within seconds instead of minutes, every simulated buyer's own address in
# X-Forwarded-For (the suite plays the one trusted edge proxy), and a known
# gateway secret so the suite can play the acquirer's late and reordered
# callbacks.
STACK_ENV = {
    "TRUSTED_PROXY_COUNT": "1",
    "PAYMENT_RECONCILE_GRACE_SECONDS": "6",
    "PAYMENT_RECONCILE_SECONDS": "2",
    "OUTBOX_SWEEP_SECONDS": "2",
    "OUTBOX_GRACE_SECONDS": "3",
    "WEB_CONCURRENCY": "2",
    "CELERY_CONCURRENCY": "8",
    "PYTHONUNBUFFERED": "1",
}


@dataclass
class FaultStack:
    url: str
    port: int
    data_dir: Path
    log_path: Path
    gateway_secret: str
    proc: subprocess.Popen | None = None
    database_url: str = ""
    boot_seconds: float = 0.0

    @property
    def redis_socket(self) -> Path:
        return self.data_dir / "redis" / "redis.sock"

    @property
    def pgdata(self) -> Path:
        return self.data_dir / "postgres"

    def log_text(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    # --- the processes, by role --------------------------------------------

    def processes(self) -> dict[int, list[str]]:
        """pid -> argv of every live process under the launcher."""
        found = {}
        for pid, started in _descendants(self.proc.pid).items():
            if not _alive(pid, started):
                continue
            try:
                argv = (Path("/proc") / str(pid) / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            found[pid] = [a.decode(errors="replace") for a in argv if a]
        return found

    def pids(self, role: str) -> list[int]:
        """The processes of one role: web (gunicorn's master), web-worker,
        worker (payments, mail, outbox), ticks (admission, hold sweep), beat, redis."""
        procs = self.processes()
        masters = {pid for pid, argv in procs.items() if _role(argv, pid, procs) == "web"}
        out = []
        for pid, argv in procs.items():
            role_of = _role(argv, pid, procs)
            if role_of == "web" and _parent(pid) in masters:
                role_of = "web-worker"
            if role_of == role:
                out.append(pid)
        return sorted(out)

    def signal(self, role: str, signum: int, *, which: int = 0) -> int:
        pids = self.pids(role)
        if not pids:
            raise AssertionError(f"no {role} process under the launcher:\n{self.log_tail()}")
        pid = pids[which]
        os.kill(pid, signum)
        return pid

    # --- the servers ----------------------------------------------------------

    def redis(self):
        import redis

        return redis.Redis(unix_socket_path=str(self.redis_socket), socket_timeout=5)

    def postgres_restart(self) -> None:
        """`pg_ctl restart -m immediate`: every connection is cut at once and the
        server recovers from its WAL, as after a crash; back within seconds."""
        from pgserver._commands import pg_ctl

        user = "pgserver" if os.geteuid() == 0 else None
        # restart keeps the options the server was started with (its socket
        # dir, no TCP); -l keeps its log where pgserver keeps it.
        pg_ctl(
            ["-w", "-l", str(self.pgdata / "log"), "restart", "-m", "immediate"],
            pgdata=self.pgdata, user=user, timeout=60,
        )  # fmt: skip

    def db(self):
        import psycopg

        return psycopg.connect(self.database_url, autocommit=True)


def _parent(pid: int) -> int:
    try:
        stat = (Path("/proc") / str(pid) / "stat").read_text()
    except OSError:
        return 0
    return int(stat.rsplit(")", 1)[1].split()[1])


def _role(argv: list[str], pid: int, procs: dict[int, list[str]]) -> str:
    text = " ".join(argv)
    if "gunicorn" in text:
        return "web"
    if "redis-server" in text or text.endswith("redis-server"):
        return "redis"
    if "celery" in text and " beat" in text:
        return "beat"
    if "celery" in text and " worker" in text:
        return "ticks" if re.search(r"-Q \S*-ticks\b", text) else "worker"
    return "other"


def _data_dir() -> Path:
    """A fresh data dir the embedded PostgreSQL's own system user can enter
    (pgserver runs the server as `pgserver` when started by root, and pytest's
    tmp dirs are 0700)."""
    path = Path(tempfile.mkdtemp(prefix="kassa-faults-"))
    path.chmod(0o755)
    return path


def stack_start() -> FaultStack:
    port = free_port()
    data_dir = _data_dir()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    stack = FaultStack(
        url=f"http://127.0.0.1:{port}",
        port=port,
        data_dir=data_dir,
        log_path=ARTIFACTS / "stack.log",
        gateway_secret=secrets.token_urlsafe(32),
    )
    env = {
        **os.environ,
        **STACK_ENV,
        "PORT": str(port),
        "KASSA_DATA_DIR": str(data_dir),
        "SANDBOX_GATEWAY_SECRET": stack.gateway_secret,
    }
    # Its own servers and secrets: nothing of the test run's.
    for key in (
        "DATABASE_URL",
        "REDIS_URL",
        "SITE_URL",
        "SECRET_KEY",
        "DJANGO_ALLOW_ASYNC_UNSAFE",
        "PROMETHEUS_MULTIPROC_DIR",
        "XDG_RUNTIME_DIR",
        *TEST_WORKER_ENV,
    ):
        env.pop(key, None)
    started = launcher_spawn(stack, env)
    try:
        launcher_wait(stack, started)
        found = re.search(r"embedded PostgreSQL at (\S+)", stack.log_text())
        if not found:
            raise RuntimeError(f"no embedded PostgreSQL in {stack.log_path}")
        stack.database_url = found.group(1)
    except BaseException:
        stack_stop(stack)
        raise
    return stack


def stack_stop(stack: FaultStack) -> list[str]:
    """Ctrl-C the launcher; it stops its children and its embedded servers."""
    # Its processes now, not at boot: the faults restarted several of them.
    problems = launcher_interrupt(stack.proc, None)
    # A PostgreSQL restarted by the suite is no longer the launcher's child:
    # make sure no server is left on the throwaway data dir.
    if (stack.pgdata / "postmaster.pid").exists():
        try:
            stack_postgres_stop(stack)
        except Exception as exc:  # report it; never hide the test's own failure
            problems.append(f"embedded PostgreSQL left running: {exc}")
    shutil.rmtree(stack.data_dir, ignore_errors=True)
    return problems


def stack_postgres_stop(stack: FaultStack) -> None:
    from pgserver._commands import pg_ctl

    user = "pgserver" if os.geteuid() == 0 else None
    pg_ctl(["-w", "stop", "-m", "fast"], pgdata=stack.pgdata, user=user)
