"""The signature of a partner's on-account payment confirmation.

`Kassa-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<raw body>" with
the partner's on-account secret>`, the scheme of kassa's webhooks (Stripe's):
any `v1` may match (a partner rotating its secret may send two), a `t` more
than five minutes from now is refused (a replay). Standard library only, so
a partner can copy `signature_header` as it is.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from api.models import Partner

SIGNATURE_HEADER = "Kassa-Signature"
TOLERANCE_SECONDS = 300


def signature_mac(secret: str, timestamp: int, body: bytes) -> str:
    signed = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def signature_header(*, secret: str, body: bytes, timestamp: int | None = None) -> str:
    """The header a partner sends (what its app computes; tests sign with it)."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    return f"t={timestamp},v1={signature_mac(secret, timestamp, body)}"


def signature_valid(*, header: str, body: bytes, secret: str, now: float | None = None) -> bool:
    """True if `header` signs `body` with `secret` and is at most five minutes off."""
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
    if abs(now - timestamp) > TOLERANCE_SECONDS:
        return False
    expected = signature_mac(secret, timestamp, body)
    return any(hmac.compare_digest(expected, mac) for mac in macs)


def event_id_of(partner: Partner, reference: str) -> str:
    """The confirmation's callback event id: the partner's own transaction id
    is unique per partner, so (provider, event id) dedupes a confirmation sent
    twice, and two partners may use the same reference."""
    return f"{partner.slug}:{reference}"
