"""HMAC signatures between kassa and the payment acquirers it talks to.

Both ends of the sandbox gateway (the merchant's adapter in payments and the
acquirer in sandbox/) sign and check with these, over HTTP only: one place for
the header format (`sha256=<hex HMAC-SHA256>`) and the secret's derivation.
"""

from __future__ import annotations

import hashlib
import hmac

from django.conf import settings


def shared_secret(setting: str, purpose: bytes) -> bytes:
    """The secret named by `setting`, else one derived from SECRET_KEY for
    `purpose`: a fresh install signs without extra configuration, and the
    secret is never the SECRET_KEY itself."""
    configured = getattr(settings, setting, "")
    if configured:
        return configured.encode()
    return hmac.new(settings.SECRET_KEY.encode(), purpose, hashlib.sha256).digest()


def hmac_sign(secret: bytes, data: bytes) -> str:
    return "sha256=" + hmac.new(secret, data, hashlib.sha256).hexdigest()


def hmac_valid(secret: bytes, data: bytes, header: str | None) -> bool:
    return bool(header) and hmac.compare_digest(hmac_sign(secret, data), header)
