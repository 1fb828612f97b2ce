"""Signed queue tokens and passes (django.core.signing, HMAC with SECRET_KEY).

A salt per purpose, so a queue token can never be replayed as a pass.
"""

from __future__ import annotations

from django.core import signing

TOKEN_SALT = "kassa.queue.token"  # noqa: S105 (a signing salt, not a secret)
PASS_SALT = "kassa.queue.pass"  # noqa: S105


def token_make(*, room_id: int, visitor: str, number: int, issued_at: float) -> str:
    return signing.dumps(
        {"r": room_id, "v": visitor, "n": number, "t": int(issued_at)}, salt=TOKEN_SALT
    )


def token_read(token: str) -> dict | None:
    try:
        data = signing.loads(token, salt=TOKEN_SALT)
    except signing.BadSignature:
        return None
    return data if isinstance(data, dict) and {"r", "v", "n"} <= data.keys() else None


def pass_make(
    *, room_id: int, visitor: str, number: int, expires_at: float, cap: int | None
) -> str:
    return signing.dumps(
        {"r": room_id, "v": visitor, "n": number, "e": round(expires_at, 3), "c": cap},
        salt=PASS_SALT,
    )


def pass_read(token: str) -> dict | None:
    try:
        data = signing.loads(token, salt=PASS_SALT)
    except signing.BadSignature:
        return None
    return data if isinstance(data, dict) and {"r", "v", "n", "e"} <= data.keys() else None
