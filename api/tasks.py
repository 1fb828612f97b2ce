from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from api.services import idempotency_records_purge, webview_tokens_purge


@shared_task
def idempotency_purge() -> int:
    """Drop Idempotency-Key records past their retention (hourly, from beat)."""
    before = timezone.now() - timedelta(hours=settings.API_IDEMPOTENCY_TTL_HOURS)
    return idempotency_records_purge(before=before)


@shared_task
def webview_token_purge() -> int:
    """Drop webview tokens a day past their expiry (hourly, from beat)."""
    return webview_tokens_purge(before=timezone.now() - timedelta(days=1))
