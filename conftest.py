"""Fixtures shared by every app's tests: real Redis, a real Celery worker, a real browser."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent

# An xdist worker's Redis database (ticketing.env.test_worker_redis_url) is
# also the one its subprocesses and direct REDIS_URL readers get.
if os.environ.get("REDIS_URL"):
    from ticketing.env import test_worker_redis_url

    os.environ["REDIS_URL"] = test_worker_redis_url(os.environ["REDIS_URL"])
CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(autouse=True, scope="session")
def _request_rollup_flushed_by_tests():
    """No background flusher of the request rollup (sales.rollup) in the test
    process: it would write from its own connection outside each test's
    transaction. Tests that read the rollup flush it themselves; the stacks
    that journeys and faults boot keep theirs."""
    from sales import rollup

    rollup.background_flush = False
    yield


@pytest.fixture(autouse=True)
def _request_rollup_empty():
    """Each test starts with no request counts in memory: an earlier test's
    requests must not reach a later test's rollup when it flushes."""
    from sales import rollup

    with rollup._lock:
        rollup._counts.clear()
    yield


@pytest.fixture(autouse=True)
def _clean_redis():
    """Each test starts with an empty Redis database (the test one, see launcher)."""
    from django_redis import get_redis_connection

    get_redis_connection("default").flushdb()
    yield


@pytest.fixture(autouse=True)
def _fresh_sale_snapshot():
    """Each test starts without the per-process sale snapshot (events.selectors): rows
    that a previous test rolled back must not be served from it."""
    from events.selectors import sale_snapshot_forget

    sale_snapshot_forget()
    yield


@pytest.fixture(autouse=True)
def _fresh_api_key_cache():
    """Each test starts without the per-process API key cache (api.authentication)."""
    from api.authentication import api_key_cache_forget

    api_key_cache_forget()
    yield


@pytest.fixture(autouse=True)
def _gateway_in_process(request, monkeypatch):
    """kassa's calls to the sandbox gateway (refunds, status queries) reach its
    views through Django's test client, inside the test's transaction: the
    request, signature and the gateway's books are real, the socket is not. A
    test with a live server (`live_server`) talks to it over real HTTP."""
    if "live_server" in request.fixturenames:
        yield
        return
    from django.test import Client

    from payments import sandbox

    def in_process(method, path, raw, headers):
        meta = {"HTTP_" + k.upper().replace("-", "_"): v for k, v in headers.items()}
        meta.pop("HTTP_CONTENT_TYPE", None)
        client = Client()
        if method == "GET":
            response = client.get(path, **meta)
        else:
            response = client.post(path, data=raw, content_type="application/json", **meta)
        is_json = response.get("Content-Type", "").startswith("application/json")
        return response.status_code, response.json() if is_json else None

    monkeypatch.setattr(sandbox, "_http", in_process)
    yield


@pytest.fixture
def redis_conn():
    from django_redis import get_redis_connection

    return get_redis_connection("default")


def _test_database_url() -> str:
    from django.db import connection

    s = connection.settings_dict
    auth = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "")
    if s["HOST"].startswith("/"):
        return f"postgresql://{auth}@/{s['NAME']}?host={s['HOST']}"
    return f"postgresql://{auth}@{s['HOST']}:{s['PORT'] or 5432}/{s['NAME']}"


@pytest.fixture
def celery_worker_process(tmp_path, transactional_db, settings):
    """A real `celery worker` process on its own queue, against the test database.

    Yields (queue name, log path). Tests that use it see committed data only,
    hence `transactional_db`.
    """
    queue = f"test-{uuid.uuid4().hex[:8]}"
    log_path = tmp_path / "worker.log"
    env = {**os.environ, "DATABASE_URL": _test_database_url(), "CELERY_QUEUE": queue}
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "ticketing", "worker", "--pool", "solo",
             "-Q", f"{queue},{queue}-ticks", "-l", "INFO", "--without-heartbeat",
             "--without-gossip", "--without-mingle"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        settings.CELERY_TASK_DEFAULT_QUEUE = queue
        from ticketing.celery import app

        app.conf.task_default_queue = queue
        try:
            deadline = time.monotonic() + 30
            while b"ready" not in log_path.read_bytes():
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("worker did not start:\n" + log_path.read_text())
                time.sleep(0.1)
            yield queue, log_path
        finally:
            app.conf.task_default_queue = os.environ.get("CELERY_QUEUE", "kassa")
            proc.terminate()
            proc.wait(15)


@pytest.fixture(scope="session")
def browser():
    """Debian's headless Chromium driven by Playwright (never a downloaded browser)."""
    if not os.path.exists(CHROMIUM):
        pytest.skip("Debian chromium is not installed (make test installs it as root)")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API leaves an asyncio loop marked running in the main
    # thread for as long as it is open (here: the rest of the session), and
    # Django then refuses every plain ORM call in that thread, including the
    # flushes of later transactional tests. Those calls are synchronous.
    mp = pytest.MonkeyPatch()
    mp.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as pw:
        instance = pw.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync"],
        )  # fmt: skip
        yield instance
        instance.close()
    mp.undo()


@pytest.fixture
def page(browser):
    context = browser.new_context(locale="ru-RU", timezone_id="Asia/Almaty")
    pg = context.new_page()
    yield pg
    context.close()


def pytest_configure(config):
    from django.conf import settings

    # Tests render templates without a collectstatic run: no manifest lookups.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    settings.WHITENOISE_AUTOREFRESH = True


def pytest_xdist_make_scheduler(config, log):
    """How `make test`'s xdist workers share the suite: a test file at a time
    (its module fixtures are set up once), except that all the journeys go to
    one worker, which boots their one stack, and all the faults to one, which
    share a module's stack. The biggest units go first (xdist's default
    reorder), so these two long ones start at once. (xdist's own loadgroup
    does not group under this pytest: it renames items, which pytest 9 no
    longer reads.)"""
    from xdist.scheduler import LoadScopeScheduling

    class Scheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            path = nodeid.split("::", 1)[0]
            top = path.split("/", 1)[0]
            return top if top in ("journeys", "faults") else path

    return Scheduling(config, log)
