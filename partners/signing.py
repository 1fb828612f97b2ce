"""The `Kassa-Signature` header (Stripe's scheme): `t=<unix time>,v1=<hex
HMAC-SHA256 of "<t>.<raw body>">`, one `v1` per secret that signs now (two
during a secret rotation). The receiver recomputes the HMAC with its secret,
accepts if any `v1` matches and `t` is recent (replay protection).

`signature_verify` is the reference verifier the README shows partners; it
uses the standard library only, so a partner can copy it as it is.
"""

from __future__ import annotations

import hashlib
import hmac
import time

HEADER = "Kassa-Signature"
TOLERANCE_SECONDS = 300


def _mac(secret: str, timestamp: int, body: bytes) -> str:
    signed = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def signature_header(*, secrets: list[str], body: bytes, timestamp: int | None = None) -> str:
    timestamp = int(time.time()) if timestamp is None else timestamp
    return ",".join([f"t={timestamp}", *(f"v1={_mac(s, timestamp, body)}" for s in secrets)])


def signature_verify(
    *, header: str, body: bytes, secret: str, tolerance: int = TOLERANCE_SECONDS, now=None
) -> bool:
    """True if `header` signs `body` with `secret` and is at most `tolerance` s old."""
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
    expected = _mac(secret, timestamp, body)
    return any(hmac.compare_digest(expected, mac) for mac in macs)
