from __future__ import annotations

import logging

from celery import shared_task

logger = logging.getLogger(__name__)


@shared_task(name="ticketing.ping")
def ping(note: str) -> str:
    """A no-op task for smoke checks: proves the broker and a worker work."""
    logger.info("ping", extra={"note": note})
    return note
