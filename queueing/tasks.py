from __future__ import annotations

from celery import shared_task

from queueing import services


@shared_task(ignore_result=True)
def admission_tick() -> int:
    """Admit from every waiting room that is not off (see services.room_tick)."""
    return services.rooms_tick()
