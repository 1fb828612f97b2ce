from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme

from accounts.selectors import phone_key
from api.authentication import api_key_cache_forget
from api.exceptions import InvalidScopes, WebviewDisabled, WebviewTokenInvalid
from api.models import ApiKey, IdempotencyRecord, Partner, Scope, WebviewToken
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
    # A queryset update sends no post_save: drop this process's cached keys
    # (others refuse the key within API_KEY_CACHE_SECONDS).
    transaction.on_commit(api_key_cache_forget)
    api_key_cache_forget()
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


def webview_next_path(value: str | None) -> str | None:
    """`value` if it is a path on this site ("/e/show/"), else None: never
    another host, scheme or a protocol-relative "//host" (no open redirect)."""
    if not value or not value.startswith("/") or value.startswith(("//", "/\\")):
        return None
    if any(ch in value for ch in "\\\r\n\t") or len(value) > 500:
        return None
    return value if url_has_allowed_host_and_scheme(value, allowed_hosts=set()) else None


def _token_hash(raw: str) -> str:
    # 256 random bits: a plain SHA-256 is enough (as for API keys).
    return hashlib.sha256(raw.encode()).hexdigest()


@dataclass(frozen=True)
class MintedToken:
    token: str
    expires_at: datetime
    next_path: str


def webview_token_create(
    *, partner: Partner, buyer_ref: str, phone_sha256: str = "", next_path: str = "/"
) -> MintedToken:
    """A one-time token that opens kassa's pages as `buyer_ref`, the partner's
    customer (with their verified phone's identity when given).

    Lives `partner.webview_token_seconds`; only its hash is stored. Raises
    WebviewDisabled (403) unless staff enabled the partner's webview.
    `next_path` must be a local path (webview_next_path); callers check it.
    """
    if not partner.webview_enabled:
        raise WebviewDisabled()
    raw = secrets.token_urlsafe(32)
    now = timezone.now()
    token = WebviewToken.objects.create(
        partner=partner,
        token_hash=_token_hash(raw),
        buyer_ref=buyer_ref,
        phone_key=phone_key(phone_sha256=phone_sha256) if phone_sha256 else "",
        next_path=next_path,
        created_at=now,
        expires_at=now + timedelta(seconds=partner.webview_token_seconds),
    )
    return MintedToken(raw, token.expires_at, token.next_path)


def webview_token_redeem(*, raw: str | None) -> WebviewToken:
    """Spend a webview token: the token row (with its partner) if it was
    unspent, unexpired and its partner still active with the webview on.

    One conditional UPDATE claims it, so a replayed or raced token starts at
    most one session. Anything else raises WebviewTokenInvalid (one error
    for every cause).
    """
    if not raw or len(raw) > 100:
        raise WebviewTokenInvalid()
    now = timezone.now()
    # Only the token's own columns in the WHERE: a filter across the partner
    # join makes Django write `id IN (SELECT …)`, which PostgreSQL does not
    # re-check after waiting for a racing claim's row lock (both would win).
    claimed = WebviewToken.objects.filter(
        token_hash=_token_hash(raw), used_at__isnull=True, expires_at__gt=now
    ).update(used_at=now)
    if not claimed:
        raise WebviewTokenInvalid()
    token = WebviewToken.objects.select_related("partner").get(token_hash=_token_hash(raw))
    if not (token.partner.is_active and token.partner.webview_enabled):
        raise WebviewTokenInvalid()  # spent all the same: a stopped partner's tokens stay dead
    return token


def webview_tokens_purge(*, before: datetime) -> int:
    """Delete webview tokens that expired before `before`; returns how many."""
    deleted, _ = WebviewToken.objects.filter(expires_at__lt=before).delete()
    return deleted
