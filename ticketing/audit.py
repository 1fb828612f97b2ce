"""The audit trail (STYLE.md rule 6): every app records its state changes here.

It lives in the base layer so that events, queueing, accounts and api can
audit without importing orders (DESIGN.md, layers).
"""

from __future__ import annotations

from typing import Any

from django.db import models

from ticketing.models import AuditAction, AuditEntry

__all__ = ["AuditAction", "audit_actor", "audit_entry", "audit_log", "audit_log_many"]

_ACTOR_MAX = AuditEntry._meta.get_field("actor").max_length


def audit_actor(*, actor: str = "", user: Any = None) -> str:
    """The `actor` column of an entry (for services that write it in their
    own statement): `actor`, else the signed-in user; bounded, as a partner's
    buyer key ("partner:<slug>:<buyer_ref>") may be longer than the column
    and an audit row must never fail its change."""
    user = user if getattr(user, "is_authenticated", False) else None
    return (actor or (f"user:{user.pk}" if user else ""))[:_ACTOR_MAX]


def audit_entry(
    *,
    action: AuditAction,
    obj: models.Model | None = None,
    object_type: str = "",
    object_id: str = "",
    actor_user: Any = None,
    actor: str = "",
    data: dict[str, Any] | None = None,
) -> AuditEntry:
    """The entry audit_log writes, unsaved (its time is now): for a service that
    writes it with its own rows in one round trip (ticketing.rows.rows_insert)
    or several in one INSERT (audit_log_many), in the transaction that makes
    the change."""
    action = AuditAction(action)
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(obj.pk)
    user = actor_user if getattr(actor_user, "is_authenticated", False) else None
    return AuditEntry(
        action=action,
        object_type=object_type,
        object_id=object_id,
        actor_user=user,
        actor=audit_actor(actor=actor, user=user),
        data=data or {},
    )


def audit_log(**fields: Any) -> AuditEntry:
    """Record one state change: audit_entry's keyword fields (action, obj or
    object_type/object_id, actor_user, actor, data), written at once. Call it
    inside the transaction that makes the change.

    `action` must be an AuditAction; a plain string is accepted only if it is
    one's value (ValueError otherwise), so no free-form action reaches the table.
    """
    entry = audit_entry(**fields)
    entry.save(force_insert=True)
    return entry


def audit_log_many(entries: list[AuditEntry]) -> None:
    """Write audit_entry rows in one INSERT, in their order. Call it inside the
    transaction that made the changes, before it commits."""
    AuditEntry.objects.bulk_create(entries)
