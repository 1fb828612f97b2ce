from __future__ import annotations

from celery import shared_task

from accounts import services


@shared_task(name="accounts.codes_purge")
def codes_purge() -> int:
    """Hourly (CELERY_BEAT_SCHEDULE in settings): drop day-old sign-in codes."""
    return services.codes_purge()
