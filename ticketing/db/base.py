"""kassa's PostgreSQL engine: Django's, with the connection pool's hand-out
check skipped for a connection that was in use a moment ago.

psycopg_pool's check_connection sends an empty query before every hand-out:
after a PostgreSQL restart every idle connection of every process is dead, and
without a check each would fail one request long after the server is back (the
faults suite). But under load a connection comes back to the pool and goes out
again within milliseconds, and that check is then one more round trip on every
request (7 % of a busy web worker's samples in py-spy). So the pool records
when a connection came back (`pool_returned`, its `reset` callback) and the
check asks the server only about connections idle for longer than
DB_POOL_CHECK_IDLE_SECONDS (DATABASES' POOL_CHECK_IDLE_SECONDS). One that
died within that moment fails one request, as any connection does when the
server dies mid-request.
"""

from __future__ import annotations

import time
import weakref
from typing import Any

from django.db.backends.postgresql import base
from psycopg import pq
from psycopg_pool import ConnectionPool

# Connections whose last use ended at this time.monotonic(); weak, so a
# connection the pool closes leaves no entry behind.
_RETURNED: weakref.WeakKeyDictionary[Any, float] = weakref.WeakKeyDictionary()


def pool_check(idle_seconds: float):
    """psycopg_pool's `check`: ask the server only about a connection that was
    idle for `idle_seconds` or more, or never handed out before."""

    def check(conn: Any) -> None:
        returned = _RETURNED.pop(conn, None)
        fresh = returned is not None and time.monotonic() - returned < idle_seconds
        if fresh and conn.pgconn.status == pq.ConnStatus.OK:
            return
        ConnectionPool.check_connection(conn)

    return check


def pool_returned(conn: Any) -> None:
    """psycopg_pool's `reset`: the connection is back, idle, in the pool."""
    _RETURNED[conn] = time.monotonic()


class DatabaseWrapper(base.DatabaseWrapper):
    @property
    def pool(self):
        pool = super().pool
        idle = self.settings_dict.get("POOL_CHECK_IDLE_SECONDS")
        if pool is not None and idle is not None and not getattr(pool, "_kassa_checks", False):
            # Django passes the pool no check with CONN_HEALTH_CHECKS off, and
            # takes none from OPTIONS["pool"]: set before the pool first hands
            # out a connection (the pool opens on the first connect).
            pool._check, pool._reset = pool_check(idle), pool_returned
            pool._kassa_checks = True
        return pool
