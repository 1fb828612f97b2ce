from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from api.exceptions import InvalidScopes
from api.models import ApiKey, IdempotencyRecord, Partner, Scope
from ticketing.audit import AuditAction, audit_log


@transaction.atomic
def api_key_create(
    *,
    partner: Partner,
    scopes: list[str],
    name: str = "",
    events: Iterable[Any] = (),
    actor_user: Any = None,
) -> tuple[ApiKey, str]:
    """Create a key for a partner. Returns (key, raw secret); the secret is never stored.

    `events` (Event objects or ids) limits its check-in to those events; empty
    means every event. Raises InvalidScopes for a scope outside `Scope`.
    Audited as `api_key.created`.
    """
    unknown = sorted(set(scopes) - set(Scope.values))
    if unknown:
        raise InvalidScopes(details={"scopes": unknown})
    prefix, raw = ApiKey.generate()
    key = ApiKey.objects.create(
        partner=partner,
        name=name,
        prefix=prefix,
        hashed_key=ApiKey.hash(raw),
        scopes=sorted(set(scopes)),
    )
    event_ids = sorted({getattr(event, "pk", event) for event in events})
    if event_ids:
        key.events.set(event_ids)
    audit_log(
        action=AuditAction.API_KEY_CREATED,
        obj=key,
        actor_user=actor_user,
        data={
            "partner": partner.slug,
            "prefix": prefix,
            "scopes": key.scopes,
            "name": name,
            **({"events": event_ids} if event_ids else {}),  # limited to these events
        },
    )
    return key, raw


@transaction.atomic
def api_key_revoke(*, key: ApiKey, actor_user: Any = None) -> bool:
    """Revoke a key; requests with it are refused (401) from now on.

    Returns False (and writes nothing) when it was already revoked: the
    conditional UPDATE makes two staff revoking at once log it only once.
    """
    now = timezone.now()
    changed = ApiKey.objects.filter(pk=key.pk, revoked_at__isnull=True).update(revoked_at=now)
    if not changed:
        return False
    key.revoked_at = now
    audit_log(
        action=AuditAction.API_KEY_REVOKED,
        obj=key,
        actor_user=actor_user,
        data={"partner": key.partner.slug, "prefix": key.prefix},
    )
    return True


def idempotency_records_purge(*, before: datetime) -> int:
    """Delete idempotency records created before `before`; returns how many.

    One DELETE on the created_at index; a record being replayed concurrently
    is simply gone, and the retry then runs as new (past the 24 h promise).
    """
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=before).delete()
    return deleted
