"""The pool's hand-out check (ticketing/db): against the real test database,
with a real psycopg pool and a connection killed by the server."""

from __future__ import annotations

import psycopg
import pytest
from django.db import connection
from psycopg_pool import ConnectionPool

from ticketing.db.base import pool_check, pool_returned


@pytest.fixture
def conninfo(db):
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    return psycopg.conninfo.make_conninfo(**{k: v for k, v in params.items() if v is not None})


@pytest.fixture
def checks(monkeypatch):
    asked: list[object] = []
    real = ConnectionPool.check_connection

    def counting(conn):
        asked.append(conn)
        real(conn)

    monkeypatch.setattr(ConnectionPool, "check_connection", staticmethod(counting))
    return asked


def _pool(conninfo: str, idle_seconds: float) -> ConnectionPool:
    pool = ConnectionPool(
        conninfo,
        min_size=1,
        max_size=1,
        open=False,
        kwargs={"autocommit": True},
        check=pool_check(idle_seconds),
        reset=pool_returned,
    )
    pool.open(wait=True, timeout=10)
    return pool


def _backend_pid(pool: ConnectionPool) -> int:
    with pool.connection() as conn:
        return conn.execute("SELECT pg_backend_pid()").fetchone()[0]


@pytest.mark.django_db(transaction=True)
def test_a_connection_back_a_moment_ago_goes_out_without_a_round_trip(conninfo, checks):
    pool = _pool(conninfo, idle_seconds=60)
    try:
        _backend_pid(pool)  # new: checked (never returned yet)
        asked = len(checks)
        for _ in range(5):
            _backend_pid(pool)
        assert len(checks) == asked  # back within the minute: not asked again
    finally:
        pool.close()


@pytest.mark.django_db(transaction=True)
def test_an_idle_connection_the_server_killed_is_replaced_before_use(conninfo, checks):
    # As after a PostgreSQL restart: the pooled connection is dead, and the
    # request that gets it must get a working one instead of an error.
    pool = _pool(conninfo, idle_seconds=0)
    try:
        dead = _backend_pid(pool)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [dead])
        assert _backend_pid(pool) != dead
        assert checks  # asked, found dead, replaced
    finally:
        pool.close()


@pytest.mark.django_db
def test_the_site_pool_uses_this_check(settings):
    # DATABASES' POOL_CHECK_IDLE_SECONDS (DB_POOL_CHECK_IDLE_SECONDS) reaches the
    # pool Django made: requests skip the empty query, idle connections do not.
    if connection.pool is None:
        pytest.skip("pooling is off (DB_POOL_MAX_SIZE=0)")
    assert settings.DATABASES["default"]["CONN_HEALTH_CHECKS"] is False
    assert connection.pool._reset is pool_returned
    assert connection.pool._check.__qualname__ == pool_check(0).__qualname__
