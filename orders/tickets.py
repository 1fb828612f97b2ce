"""Tickets: issuing on payment, QR codes (static or rotating TOTP), check-in."""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import secrets
import struct
from datetime import datetime
from typing import TYPE_CHECKING

import segno
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from orders import holdkinds
from orders.models import Ticket

if TYPE_CHECKING:
    from orders.models import Hold, Order

TOTP_STEP_SECONDS = 30
TOTP_DIGITS = 6


def ticket_code_new() -> str:
    """128 random bits, URL-safe (22 characters)."""
    return secrets.token_urlsafe(16)


def rotating_qr_enabled() -> bool:
    return bool(getattr(settings, "TICKET_ROTATING_QR", False))


def tickets_issue(*, order: Order, hold: Hold) -> list[Ticket]:
    """One ticket per place of the hold (its kind says which: holdkinds).

    Runs inside the payment transaction, after the stock was sold; the partial
    unique index on valid tickets per seat is the last line against a double sale.
    """
    rotating = rotating_qr_enabled()

    def new(**fields) -> Ticket:
        secret = base64.b32encode(secrets.token_bytes(20)).decode() if rotating else ""
        return Ticket(
            order=order,
            event_id=order.event_id,
            code=ticket_code_new(),
            totp_secret=secret,
            **fields,
        )

    tickets = [new(**place) for place in holdkinds.kind_of(hold).ticket_places(hold)]
    return Ticket.objects.bulk_create(tickets)


# --- rotating QR (RFC 6238 TOTP, SHA-1, 6 digits, 30 s) -------------------------


def totp_at(secret: str, at: datetime, *, step_offset: int = 0) -> str:
    counter = int(at.timestamp()) // TOTP_STEP_SECONDS + step_offset
    key = base64.b32decode(secret)
    digest = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    number = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(number % 10**TOTP_DIGITS).zfill(TOTP_DIGITS)


def totp_accepts(secret: str, value: str, at: datetime) -> bool:
    """The current step and the previous one (a scan that straddles a step)."""
    return any(
        hmac.compare_digest(totp_at(secret, at, step_offset=offset), value) for offset in (0, -1)
    )


def ticket_qr_content(ticket: Ticket, at: datetime | None = None) -> str:
    if ticket.totp_secret and rotating_qr_enabled():
        return f"{ticket.code}.{totp_at(ticket.totp_secret, at or timezone.now())}"
    return ticket.code


def qr_svg(content: str) -> str:
    out = io.BytesIO()
    segno.make(content, error="m", micro=False).save(
        out, kind="svg", scale=6, border=2, xmldecl=False, svgns=True
    )
    return out.getvalue().decode()


# --- check-in -------------------------------------------------------------------------

OK, ALREADY_USED, VOID, UNKNOWN = "ok", "already_used", "void", "unknown"


def ticket_checkin(
    *, scanned: str, at: datetime | None = None, events: set[int] | None = None
) -> tuple[str, Ticket | None]:
    """Mark a scanned ticket used; exactly one of any number of racing scanners wins.

    One conditional UPDATE (`status = 'valid'`) decides; no lock is held. A
    rotating QR must carry the current or previous TOTP step, otherwise the
    scan is "unknown" (a stale screenshot). With `events` (the scanner's
    key is limited to them) a ticket of another event is "unknown" too and
    stays valid: that door neither uses it nor learns anything about it.
    """
    at = at or timezone.now()
    code, _sep, otp = scanned.strip().partition(".")
    if not code or len(code) > 32:
        return UNKNOWN, None
    ticket = Ticket.objects.select_related("event_seat__seat", "event_seat__section", "tier")
    ticket = ticket.filter(code=code).first()
    if ticket is None or (events is not None and ticket.event_id not in events):
        return UNKNOWN, None
    if (
        ticket.totp_secret
        and rotating_qr_enabled()
        and not totp_accepts(ticket.totp_secret, otp, at)
    ):
        return UNKNOWN, None
    with transaction.atomic():
        won = Ticket.objects.filter(pk=ticket.pk, status=Ticket.Status.VALID).update(
            status=Ticket.Status.USED, used_at=at
        )
    ticket.refresh_from_db(fields=["status", "used_at"])
    if won:
        return OK, ticket
    return (VOID if ticket.status == Ticket.Status.VOID else ALREADY_USED), ticket


def ticket_describe(ticket: Ticket) -> dict[str, str | None]:
    """A ticket's place (section, row, seat, tier), as its hold kind describes it."""
    return holdkinds.kind_of_ticket(ticket).describe(ticket)
