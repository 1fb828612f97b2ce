"""Per-minute request outcomes, counted in process and written to Postgres.

Cheap on the hot path: a request adds one to a dict entry under a lock; every
FLUSH_SECONDS a background thread of the process writes everything it counted
as one statement, `INSERT ... ON CONFLICT DO UPDATE SET n = n + excluded.n`,
so many processes add into the same rows and no request pays for an INSERT
(nor waits for one: a queue status poll still touches no database, DESIGN
invariant 6). Rows are written in key order: two processes upserting overlapping
minutes take the row locks in the same order and cannot deadlock.

If Postgres does not answer, the counts stay here and go with the next
flush (up to MAX_KEYS kinds; past that a new kind is dropped, and the
log says so): a database outage never fails a request through the rollup.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from datetime import UTC, datetime

from django.db import DatabaseError, connection, transaction

logger = logging.getLogger(__name__)

FLUSH_SECONDS = 5.0
MAX_KEYS = 20_000

# (minute, view, method, status, cause, event) -> [n, duration_ms]
Key = tuple[datetime, str, str, str, str, str]
_counts: dict[Key, list[int]] = {}
_lock = threading.Lock()
_dropped = 0
# Off in the test process (conftest.py), whose tests flush explicitly; on
# everywhere else. The thread is per process: started by the first request
# after a fork (gunicorn forks its workers after the app is loaded).
background_flush = True
_flusher_pid = 0
_stop = threading.Event()

_UPSERT = """
INSERT INTO sales_requestminute (minute, view, method, status, cause, event, n, duration_ms)
VALUES {values}
ON CONFLICT ON CONSTRAINT requestminute_key DO UPDATE
SET n = sales_requestminute.n + EXCLUDED.n,
    duration_ms = sales_requestminute.duration_ms + EXCLUDED.duration_ms
"""


def minute_of(ts: float) -> datetime:
    return datetime.fromtimestamp(ts - ts % 60, tz=UTC)


def record(
    *,
    view: str,
    method: str,
    status: str,
    cause: str = "",
    event: str = "",
    duration_ms: int = 0,
    now: float | None = None,
) -> None:
    """Count one request (no I/O: the flusher thread writes it)."""
    global _dropped
    if background_flush and _flusher_pid != os.getpid():
        _start_flusher()
    key = (minute_of(time.time() if now is None else now), view[:120], method[:8], status[:3],
           cause[:100], event[:50])  # fmt: skip
    with _lock:
        entry = _counts.get(key)
        if entry is None:
            if len(_counts) >= MAX_KEYS:
                _dropped += 1
                return
            entry = _counts[key] = [0, 0]
        entry[0] += 1
        entry[1] += duration_ms


def _start_flusher() -> threading.Thread | None:
    global _flusher_pid
    with _lock:
        if _flusher_pid == os.getpid():
            return None
        _flusher_pid = os.getpid()
        _stop.clear()
    thread = threading.Thread(target=_flush_forever, name="request-rollup", daemon=True)
    thread.start()
    return thread


def stop_flusher(thread: threading.Thread) -> None:
    """End this process's flusher thread (tests)."""
    global _flusher_pid
    _stop.set()
    thread.join()
    _flusher_pid = 0


def _flush_forever() -> None:
    from django.db import connection as thread_connection

    while not _stop.wait(FLUSH_SECONDS):
        if pending():
            flush_quietly()
            # Its own connection, not kept between flushes (no idle session
            # per worker; a restarted Postgres is simply connected to again).
            thread_connection.close()


def flush() -> int:
    """Write the counted rows (one statement); returns how many kinds were written.

    Raises DatabaseError with the counts kept for the next try."""
    global _dropped
    with _lock:
        rows = sorted(_counts.items())
        _counts.clear()
        dropped, _dropped = _dropped, 0
    if dropped:
        logger.warning("request rollup dropped %d requests: too many kinds unflushed", dropped)
    if not rows:
        return 0
    values = ", ".join(["(%s, %s, %s, %s, %s, %s, %s, %s)"] * len(rows))
    params = [x for key, (n, ms) in rows for x in (*key, n, ms)]
    try:
        # Its own transaction (or savepoint): never half of a request's work.
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(_UPSERT.format(values=values), params)
    except DatabaseError:
        _restore(rows)
        raise
    return len(rows)


def _restore(rows: list[tuple[Key, list[int]]]) -> None:
    with _lock:
        for key, (n, ms) in rows:
            entry = _counts.setdefault(key, [0, 0])
            entry[0] += n
            entry[1] += ms


def flush_quietly() -> None:
    """flush(), logging instead of raising (the thread's and atexit's call)."""
    try:
        flush()
    except DatabaseError as exc:
        logger.warning("request rollup not written, kept for the next flush: %s", exc)
    except Exception:  # the rollup must never fail a request
        logger.exception("request rollup flush failed")


def flush_at_exit() -> None:
    """atexit: what this process counted since its last flush (not in the
    test process, whose database is gone by then)."""
    if background_flush:
        flush_quietly()


def pending() -> int:
    """Requests counted and not yet written (tests, and the console's health)."""
    with _lock:
        return sum(n for n, _ms in _counts.values())
