from __future__ import annotations

from celery import shared_task

from queueing import services
from ticketing.celery import app

app.conf.beat_schedule["queue-admission-tick"] = {
    "task": "queueing.tasks.admission_tick",
    "schedule": 1.0,
    # A late tick is useless (the next one covers its interval): drop it.
    "options": {"expires": 2},
}


@shared_task(ignore_result=True)
def admission_tick() -> int:
    """Admit from every waiting room that is not off (see services.room_tick)."""
    return services.rooms_tick()
