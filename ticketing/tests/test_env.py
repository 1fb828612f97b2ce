from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from ticketing import env


def test_env_bool_accepts_the_usual_spellings(monkeypatch):
    monkeypatch.setenv("FLAG", "yes")
    assert env.env_bool("FLAG", False) is True
    monkeypatch.setenv("FLAG", "Off")
    assert env.env_bool("FLAG", True) is False
    monkeypatch.delenv("FLAG")
    assert env.env_bool("FLAG", True) is True


def test_env_bool_rejects_a_bad_value_naming_the_variable(monkeypatch):
    monkeypatch.setenv("DEBUG", "sure")
    with pytest.raises(ImproperlyConfigured, match=r"DEBUG='sure' is not a boolean"):
        env.env_bool("DEBUG", False)


def test_env_int_rejects_text_and_values_below_minimum(monkeypatch):
    monkeypatch.setenv("WORKERS", "three")
    with pytest.raises(ImproperlyConfigured, match="WORKERS='three' is not a whole number"):
        env.env_int("WORKERS", 1)
    monkeypatch.setenv("WORKERS", "-1")
    with pytest.raises(ImproperlyConfigured, match="must be at least 0"):
        env.env_int("WORKERS", 1, minimum=0)


def test_env_str_required_and_file_variant(monkeypatch, tmp_path):
    monkeypatch.delenv("SECRET_X", raising=False)
    with pytest.raises(ImproperlyConfigured, match="SECRET_X is required"):
        env.env_str("SECRET_X")
    secret = tmp_path / "secret"
    secret.write_text("s3cret\n")
    monkeypatch.setenv("SECRET_X_FILE", str(secret))
    assert env.env_str("SECRET_X") == "s3cret"
    monkeypatch.setenv("SECRET_X", "other")
    with pytest.raises(ImproperlyConfigured, match="not both"):
        env.env_str("SECRET_X")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://u@h/db", "scheme 'mysql' is not supported"),
        ("postgresql://u@h:notaport/db", "port .* is not a number"),
        ("postgresql://u@h:5432/", "must name exactly one database"),
        ("postgresql:///db", "names no host"),
        ("not a url", "scheme '' is not supported"),
    ],
)
def test_database_url_rejects_malformed_urls(url, message):
    with pytest.raises(ImproperlyConfigured, match=message):
        env.parse_database_url("DATABASE_URL", url)


def test_database_url_parses_tcp_and_socket_forms():
    tcp = env.parse_database_url("DATABASE_URL", "postgresql://kassa:p%40ss@db:6432/kassa")
    assert tcp["HOST"] == "db" and tcp["PORT"] == "6432" and tcp["PASSWORD"] == "p@ss"
    sock = env.parse_database_url("DATABASE_URL", "postgresql://postgres@/kassa?host=/run/pg")
    assert sock["HOST"] == "/run/pg" and sock["NAME"] == "kassa" and sock["OPTIONS"] == {}


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://localhost:6379", "scheme 'http' is not supported"),
        ("redis://:6379/0", "names no host"),
        ("redis://localhost:xx/0", "port .* is not a number"),
        ("unix://", "needs the socket path"),
    ],
)
def test_redis_url_rejects_malformed_urls(monkeypatch, url, message):
    monkeypatch.setenv("REDIS_URL", url)
    with pytest.raises(ImproperlyConfigured, match=message):
        env.env_redis_url("REDIS_URL")


def test_celery_broker_url_translates_unix_sockets():
    url = env.celery_broker_url("unix:///x/r.sock?db=1")
    assert url == "redis+socket:///x/r.sock?virtual_host=1"
    assert env.celery_broker_url("unix:///x/r.sock") == "redis+socket:///x/r.sock"
    assert env.celery_broker_url("redis://h:6379/2") == "redis://h:6379/2"


def test_settings_module_refuses_to_start_with_a_bad_boolean():
    """The whole settings module fails loudly, naming the variable."""
    import os
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "ticketing.settings", "DEBUG": "maybe"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "DEBUG='maybe' is not a boolean" in result.stderr


def test_the_broker_uses_the_database_of_a_unix_socket_redis_url(redis_conn):
    # kombu ignored `?db=N` on sockets (db 0 for everyone): a bench run's
    # worker then got the callbacks still retried from earlier runs.
    from django.conf import settings
    from kombu import Connection

    if not settings.REDIS_URL.startswith("unix://"):
        pytest.skip("embedded (unix socket) Redis only")
    db = redis_conn.connection_pool.connection_kwargs["db"]
    assert db != 0
    with Connection(env.celery_broker_url(settings.REDIS_URL)) as conn:
        probe = conn.SimpleQueue("probe-broker-db")
        probe.put({"x": 1})
        probe.close()
    try:
        assert redis_conn.llen("probe-broker-db") == 1
    finally:
        redis_conn.delete("probe-broker-db")
