"""The audit trail (STYLE.md rule 6): every app records its state changes here.

It lives in the base layer so that events, queueing, accounts and api can
audit without importing orders (DESIGN.md, layers).
"""

from __future__ import annotations

from typing import Any

from django.db import models

from ticketing.models import AuditAction, AuditEntry

__all__ = ["AuditAction", "audit_log"]

_ACTOR_MAX = AuditEntry._meta.get_field("actor").max_length


def audit_log(
    *,
    action: AuditAction,
    obj: models.Model | None = None,
    object_type: str = "",
    object_id: str = "",
    actor_user: Any = None,
    actor: str = "",
    data: dict[str, Any] | None = None,
) -> AuditEntry:
    """Record one state change. Call it inside the transaction that makes the change.

    `action` must be an AuditAction; a plain string is accepted only if it is
    one's value (ValueError otherwise), so no free-form action reaches the table.
    """
    action = AuditAction(action)
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
