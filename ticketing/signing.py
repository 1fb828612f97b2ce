"""HMAC signatures between kassa and the payment acquirers it talks to.

Both ends of the sandbox gateway (the merchant's adapter in payments and the
acquirer in sandbox/) sign and check with these, over HTTP only: one place for
the header format (`sha256=<hex HMAC-SHA256>`) and the secret's derivation.
"""

from __future__ import annotations

import hashlib
import hmac
import time

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


# --- the `Kassa-Signature` header (Stripe's scheme) ----------------------------------
# `t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`, one `v1` per secret
# that signs now (two during a secret rotation). The receiver recomputes the
# HMAC with its secret, accepts if any `v1` matches and `t` is recent (replay
# protection). kassa signs its webhooks with it (partners), and partners sign
# their on-account payment confirmations with it (payments).

STAMPED_HEADER = "Kassa-Signature"
STAMPED_TOLERANCE_SECONDS = 300


def _stamped_mac(secret: str, timestamp: int, body: bytes) -> str:
    signed = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def stamped_header(*, secrets: list[str], body: bytes, timestamp: int | None = None) -> str:
    """The header signing `body` with each of `secrets`, at `timestamp` (now)."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    return ",".join(
        [f"t={timestamp}", *(f"v1={_stamped_mac(s, timestamp, body)}" for s in secrets)]
    )


def stamped_valid(
    *,
    header: str,
    body: bytes,
    secret: str,
    tolerance: int = STAMPED_TOLERANCE_SECONDS,
    now: float | None = None,
) -> bool:
    """True if `header` signs `body` with `secret` and is at most `tolerance` s old."""
    if not secret:
        return False
    timestamp, macs = None, []
    for part in (header or "").split(","):
        key, _sep, value = part.strip().partition("=")
        if key == "t" and value.isdigit():
            timestamp = int(value)
        elif key == "v1":
            macs.append(value)
    if timestamp is None or not macs:
        return False
    now = time.time() if now is None else now
    if abs(now - timestamp) > tolerance:
        return False
    expected = _stamped_mac(secret, timestamp, body)
    return any(hmac.compare_digest(expected, mac) for mac in macs)
