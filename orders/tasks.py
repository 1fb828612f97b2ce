from __future__ import annotations

from celery import shared_task

from orders.services.holds import holds_expire

BATCH = 500


@shared_task(name="orders.tasks.sweep_expired_holds", ignore_result=True)
def sweep_expired_holds() -> int:
    """Tidy expired holds (beat, every HOLD_SWEEP_SECONDS). Buyers never wait for it."""
    total = 0
    while True:  # a backlog is worked off in batches, each its own short transaction
        swept = holds_expire(batch=BATCH)
        total += swept
        if swept < BATCH:
            return total
