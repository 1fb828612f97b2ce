"""The transactional outbox: work that must happen because a transaction committed.

Money-moving side effects (refund requests, callback deliveries, ticket mail)
used to exist only as Celery messages in Redis: a Redis loss (FLUSHALL, a
restart without persistence) between the commit and the worker lost them for
good. Now the deciding transaction also inserts an `OutboxMessage` row
(`outbox_put`); after the commit a Celery task brings it forward at once (the
fast path), and a periodic sweep (`outbox_sweep`, beat every
OUTBOX_SWEEP_SECONDS) delivers whatever is due and still not done, whatever
happened to Redis.

A run owns a message only after its conditional UPDATE (healthchecks'
sendalerts: `... WHERE id = %s AND done_at IS NULL AND due_at = <the value
read>`) hits one row; the new `due_at` is the lease: a run that dies leaves the
message due again once the lease ends, never lost. So delivery is at least
once, one runner at a time: handlers must be idempotent.

Handlers live in the upper apps (`@outbox_handler("payments.refund")`,
registered by their AppConfig.ready), so this layer never imports them. They
run outside any transaction and raise to be retried with back-off; after
OUTBOX_MAX_ATTEMPTS the message is given up (an ERROR line, a counter, and
the admin's "given up" filter).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Executor
from datetime import datetime, timedelta
from typing import Any

from celery import current_app
from django.conf import settings
from django.db import close_old_connections, transaction
from django.db.models import F
from django.utils import timezone

from ticketing import metrics
from ticketing.models import OutboxMessage

logger = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any]], Any]
_HANDLERS: dict[str, Handler] = {}
_BACKOFF_BASE_SECONDS = 2
_BACKOFF_MAX_SECONDS = 600
_ERROR_MAX_CHARS = 2000
DELIVER_TASK = "ticketing.outbox_deliver"  # ticketing.tasks.outbox_deliver


def outbox_register(kind: str, func: Handler) -> Handler:
    """Name the handler of `kind`; it gets the message's payload (a dict)."""
    if _HANDLERS.get(kind, func) is not func:
        raise ValueError(f"outbox kind {kind!r} already has a handler")
    _HANDLERS[kind] = func
    return func


def outbox_handlers() -> list[str]:
    """The kinds this process has a handler for."""
    return list(_HANDLERS)


def outbox_handler(kind: str) -> Callable[[Handler], Handler]:
    """Decorator form of outbox_register."""
    return lambda func: outbox_register(kind, func)


def outbox_put(*, kind: str, payload: dict[str, Any], delay_seconds: float = 0) -> OutboxMessage:
    """Record work to do once the caller's transaction commits; returns the row.

    Must be called inside that transaction (`transaction.atomic`): the row and
    the decision commit or roll back together, which is the whole point. In
    autocommit there is no decision to tie it to, and a caller there is a bug
    (wrap the write and the put in one atomic block), so it raises instead of
    guessing. The fast path is enqueued on commit, `delay_seconds` later; the
    row is first due for the sweep a grace period after that, so in the normal
    case the sweep does not race the fast path (the claim makes a race harmless).
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("outbox_put must run inside the transaction that decides the work")
    now = timezone.now()
    message = OutboxMessage.objects.create(
        kind=kind,
        payload=payload,
        due_at=now + timedelta(seconds=delay_seconds + settings.OUTBOX_GRACE_SECONDS),
        created_at=now,
    )
    message_id = message.pk
    if settings.OUTBOX_FAST_PATH:
        transaction.on_commit(lambda: _enqueue(message_id, delay_seconds))
    return message


def _enqueue(message_id: int, delay_seconds: float) -> None:
    """The fast path. A broker that is down must not fail the request that
    committed the work: the row is there, the sweep delivers it."""
    try:
        # By name: ticketing.tasks (the task) imports this module.
        current_app.send_task(DELIVER_TASK, args=[message_id], countdown=delay_seconds or None)
    except Exception:  # any broker trouble; the sweep is the safety net
        logger.warning(
            "outbox message %s not enqueued; the sweep will deliver it", message_id, exc_info=True
        )


def _backoff(attempts: int) -> timedelta:
    """How long after its `attempts`-th failed run a message is tried again."""
    seconds = _BACKOFF_BASE_SECONDS * 2 ** max(attempts - 1, 0)
    return timedelta(seconds=min(seconds, _BACKOFF_MAX_SECONDS))


def outbox_deliver(*, message_id: int, now: datetime | None = None) -> bool:
    """The fast path's run of one message; True if its handler ran and succeeded.

    Only a first try whose time has come: the row's due_at is the put time +
    delay + grace, so `due_at - grace <= now` means the delay is over. A
    message already tried (a failure's back-off, a lease) belongs to the sweep:
    a Celery message redelivered after a worker crash does not cut its back-off.
    """
    now = now or timezone.now()
    row = (
        OutboxMessage.objects.filter(pk=message_id, done_at__isnull=True, due_at__isnull=False)
        .values_list("due_at", "attempts", "kind")
        .first()
    )
    if row is None:
        return False  # done (the sweep was first), given up, or purged
    due_at, attempts, kind = row
    if kind not in _HANDLERS:
        return False  # another process's kind (see outbox_sweep): left to it
    if attempts or due_at - timedelta(seconds=settings.OUTBOX_GRACE_SECONDS) > now:
        return False
    return _claim_and_run(message_id, due_at)


def outbox_sweep(
    *,
    now: datetime | None = None,
    batch: int | None = None,
    kinds: list[str] | None = None,
    pool: Executor | None = None,
) -> int:
    """Deliver the due messages (oldest due first, at most `batch`); returns how
    many succeeded. Beat runs it every OUTBOX_SWEEP_SECONDS.

    Only `kinds`, by default every kind with a handler in this process: the
    sandbox acquirer run as a process of its own delivers its callbacks there
    (`manage.py outbox_work --kind sandbox.callback`), and kassa's workers,
    which have no handler for them then, leave them alone.

    Not one transaction: each claim is its own autocommit UPDATE and each
    handler runs with no transaction open. Two sweeps (or a sweep and the fast
    path) may read the same rows; the claim lets exactly one run each. With a
    `pool` (threads) the messages run side by side: a deliverer with no
    Celery (outbox_work) would otherwise wait on one HTTP answer at a time.
    """
    now = now or timezone.now()
    batch = batch or settings.OUTBOX_SWEEP_BATCH
    due = list(
        OutboxMessage.objects.filter(
            done_at__isnull=True, due_at__lte=now, kind__in=kinds or list(_HANDLERS)
        )
        .order_by("due_at")
        .values_list("pk", "due_at")[:batch]
    )
    if pool is None:
        return sum(_claim_and_run(pk, due_at) for pk, due_at in due)
    return sum(pool.map(_claim_and_run_pooled, due))


def _claim_and_run_pooled(row: tuple[int, datetime]) -> bool:
    # A pool thread keeps its connection between messages: one the database
    # dropped (a restart) is closed here, as Django does at each request.
    close_old_connections()
    return _claim_and_run(*row)


def outbox_purge(*, now: datetime | None = None) -> int:
    """Delete messages done more than OUTBOX_KEEP_DAYS ago (given-up ones stay
    for staff to read); returns how many. Beat runs it hourly."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.OUTBOX_KEEP_DAYS)
    deleted, _by_model = OutboxMessage.objects.filter(done_at__lt=cutoff).delete()
    return deleted


def _claim_and_run(message_id: int, old_due: datetime) -> bool:
    # The lease starts from the clock, not the caller's `now`: a sweep's batch
    # may have run for a while since it read its rows.
    lease = timezone.now() + timedelta(seconds=settings.OUTBOX_LEASE_SECONDS)
    claimed = OutboxMessage.objects.filter(
        pk=message_id, done_at__isnull=True, due_at=old_due
    ).update(due_at=lease, attempts=F("attempts") + 1)
    if claimed != 1:
        return False  # another run has it (or finished it)
    message = OutboxMessage.objects.get(pk=message_id)
    try:
        handler = _HANDLERS.get(message.kind)
        if handler is None:
            # A message written by a newer release than this worker's: keep it.
            raise LookupError(f"no outbox handler for {message.kind!r}")
        handler(message.payload)
    except Exception as exc:  # the handler's failure is data here, retried below
        _failed(message, lease, exc)
        return False
    # Unconditional on the lease: if a slow run outlived its lease and a second
    # run took over, the work is done either way (handlers are idempotent).
    OutboxMessage.objects.filter(pk=message_id).update(
        done_at=timezone.now(), due_at=None, last_error=""
    )
    metrics.OUTBOX.labels(kind=message.kind, outcome="done").inc()
    return True


def _failed(message: OutboxMessage, lease: datetime, exc: Exception) -> None:
    error = f"{type(exc).__name__}: {exc}"[:_ERROR_MAX_CHARS]
    give_up = message.attempts >= settings.OUTBOX_MAX_ATTEMPTS
    due_at = None if give_up else timezone.now() + _backoff(message.attempts)
    # Only while the lease is still ours: a run that took over after the lease
    # (or finished the work) is not overwritten by this late failure.
    OutboxMessage.objects.filter(pk=message.pk, done_at__isnull=True, due_at=lease).update(
        due_at=due_at, last_error=error
    )
    if give_up:
        metrics.OUTBOX.labels(kind=message.kind, outcome="given_up").inc()
        logger.error(
            "outbox message %s (%s) given up after %s attempts: %s",
            message.pk,
            message.kind,
            message.attempts,
            error,
            extra={
                "action": "outbox.given_up",
                "outbox_id": message.pk,
                "kind": message.kind,
                "payload": message.payload,
                "attempts": message.attempts,
            },
        )
        return
    metrics.OUTBOX.labels(kind=message.kind, outcome="retry").inc()
    logger.warning(
        "outbox message %s (%s) failed, attempt %s, retry at %s: %s",
        message.pk,
        message.kind,
        message.attempts,
        due_at.isoformat(),
        error,
    )
