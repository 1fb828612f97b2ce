from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import pytest


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _readyz_in_subprocess(**env_overrides) -> tuple[int, dict]:
    """Ask /readyz of a fresh Django process whose environment points somewhere dead."""
    code = (
        "import django, json; django.setup();"
        "from django.test import Client;"
        "r = Client().get('/readyz');"
        "print(r.status_code, r.content.decode())"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "ticketing.settings", **env_overrides}
    env["LOG_LEVEL"] = "CRITICAL"
    result = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    status, body = result.stdout.strip().splitlines()[-1].split(" ", 1)
    return int(status), json.loads(body)


def test_healthz_answers_without_touching_dependencies(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_is_200_when_postgres_and_redis_answer(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"] == {"postgres": "ok", "redis": "ok"}


def test_readyz_is_503_naming_redis_when_redis_is_down():
    status, body = _readyz_in_subprocess(REDIS_URL=f"redis://127.0.0.1:{_closed_port()}/0")
    assert status == 503
    assert body["failed"] == ["redis"]
    assert body["checks"]["postgres"] == "ok"


def test_readyz_is_503_naming_postgres_when_postgres_is_down():
    status, body = _readyz_in_subprocess(
        DATABASE_URL=f"postgresql://postgres@127.0.0.1:{_closed_port()}/kassa",
        DB_POOL_MAX_SIZE="0",
    )
    assert status == 503
    assert body["failed"] == ["postgres"]
    assert body["checks"]["redis"] == "ok"


def test_request_id_is_honoured_or_generated(client):
    given = client.get("/healthz", HTTP_X_REQUEST_ID="abc-123")
    assert given["X-Request-ID"] == "abc-123"
    made = client.get("/healthz", HTTP_X_REQUEST_ID="bad id with spaces")
    assert made["X-Request-ID"] != "bad id with spaces"
    assert len(made["X-Request-ID"]) == 32
