from __future__ import annotations

import logging

from celery import shared_task

from ticketing import outbox

logger = logging.getLogger(__name__)


@shared_task(name="ticketing.ping")
def ping(note: str) -> str:
    """A no-op task for smoke checks: proves the broker and a worker work."""
    logger.info("ping", extra={"note": note})
    return note


@shared_task(name="ticketing.outbox_deliver", ignore_result=True)
def outbox_deliver(message_id: int) -> None:
    """The outbox's fast path: run one message right after its commit."""
    outbox.outbox_deliver(message_id=message_id)


@shared_task(name="ticketing.outbox_sweep", ignore_result=True)
def outbox_sweep() -> int:
    """Deliver due outbox messages, whatever became of their Celery message
    (beat, every OUTBOX_SWEEP_SECONDS)."""
    return outbox.outbox_sweep()


@shared_task(name="ticketing.outbox_purge", ignore_result=True)
def outbox_purge() -> int:
    """Forget outbox messages done long ago (beat, hourly)."""
    return outbox.outbox_purge()
