from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from api.models import ApiKey, Partner


@transaction.atomic
def api_key_create(*, partner: Partner, scopes: list[str], name: str = "") -> tuple[ApiKey, str]:
    """Create a key for a partner. Returns (key, raw secret); the secret is never stored."""
    prefix, raw = ApiKey.generate()
    key = ApiKey.objects.create(
        partner=partner, name=name, prefix=prefix, hashed_key=ApiKey.hash(raw), scopes=scopes
    )
    return key, raw


@transaction.atomic
def api_key_revoke(*, key: ApiKey) -> None:
    """Revoke a key; requests with it are refused (401) from now on."""
    ApiKey.objects.filter(pk=key.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
