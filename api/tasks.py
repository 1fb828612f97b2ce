from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from api.services import idempotency_records_purge


@shared_task
def idempotency_purge() -> int:
    """Drop Idempotency-Key records past their retention (hourly, from beat)."""
    before = timezone.now() - timedelta(hours=settings.API_IDEMPOTENCY_TTL_HOURS)
    return idempotency_records_purge(before=before)
