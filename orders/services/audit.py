from __future__ import annotations

from typing import Any

from django.db import models

from orders.models import AuditEntry

_ACTOR_MAX = AuditEntry._meta.get_field("actor").max_length


def audit_log(
    *,
    action: str,
    obj: models.Model | None = None,
    object_type: str = "",
    object_id: str = "",
    actor_user: Any = None,
    actor: str = "",
    data: dict[str, Any] | None = None,
) -> AuditEntry:
    """Record one state change. Call it inside the transaction that makes the change."""
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(obj.pk)
    user = actor_user if getattr(actor_user, "is_authenticated", False) else None
    return AuditEntry.objects.create(
        action=action,
        object_type=object_type,
        object_id=object_id,
        actor_user=user,
        # Bounded: a partner's buyer key ("partner:<slug>:<buyer_ref>") may be
        # longer than the column, and an audit row must never fail its change.
        actor=(actor or (f"user:{user.pk}" if user else ""))[:_ACTOR_MAX],
        data=data or {},
    )
