"""Tickets: issuing on payment, QR codes (static or rotating TOTP), check-in."""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import secrets
import struct
import zoneinfo
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import segno
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from orders import holdkinds
from orders.exceptions import OverrideReasonRequired, TicketNotFound
from orders.models import Ticket
from ticketing.audit import AuditAction, audit_log

if TYPE_CHECKING:
    from events.models import Event
    from orders.models import Hold, Order

TOTP_STEP_SECONDS = 30
TOTP_DIGITS = 6


def ticket_code_new() -> str:
    """128 random bits, URL-safe (22 characters)."""
    return secrets.token_urlsafe(16)


def rotating_qr_enabled() -> bool:
    return bool(getattr(settings, "TICKET_ROTATING_QR", False))


def tickets_issue(
    *, order: Order, hold: Hold, places: list[dict[str, Any]] | None = None
) -> list[Ticket]:
    """One ticket per place of the hold (its kind says which: holdkinds), or
    per place of `places` when the caller has them (HoldKind.sell_places).

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

    if places is None:
        places = holdkinds.kind_of(hold).ticket_places(hold)
    tickets = [new(**_typed(place, order.seat_types)) for place in places]
    return Ticket.objects.bulk_create(tickets)


def _typed(place: dict[str, Any], seat_types: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """A seat's ticket takes the type the buyer chose and its price (order_create
    priced it, orders/ticket_types.py); untyped places keep their tier's price."""
    seat = place.get("event_seat")
    seat_id = seat.pk if seat is not None else place.get("event_seat_id")
    chosen = seat_types.get(str(seat_id)) if seat_id is not None and seat_types else None
    if chosen is None:
        return place
    return {**place, "ticket_type_id": chosen["type"], "price": Decimal(chosen["price"])}


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
# Only at a gate that chose its event (the gate page): the ticket is good, but
# for another show that day, or for the same kind of show on another date.
OTHER_EVENT, WRONG_DAY = "other_event", "wrong_day"
GATE_MAX_LENGTH = 40
OVERRIDE_REASON_MAX_LENGTH = 500


def event_local_date(event: Event) -> date:
    return event.starts_at.astimezone(zoneinfo.ZoneInfo(event.time_zone)).date()


def _ticket_by_code(code: str) -> Ticket | None:
    if not code or len(code) > 32:
        return None
    tickets = Ticket.objects.select_related(
        "event", "event_seat__seat", "event_seat__section", "tier"
    )
    return tickets.filter(code=code).first()


def _gate_name(gate: str) -> str:
    return " ".join(gate.split())[:GATE_MAX_LENGTH]


def ticket_checkin(
    *,
    scanned: str,
    at: datetime | None = None,
    events: set[int] | None = None,
    event: Event | None = None,
    gate: str = "",
    actor_user: Any = None,
    actor: str = "",
) -> tuple[str, Ticket | None]:
    """Mark a scanned ticket used; exactly one of any number of racing scanners wins.

    One conditional UPDATE (`status = 'valid'`) decides; no lock is held. A
    rotating QR must carry the current or previous TOTP step, otherwise the
    scan is "unknown" (a stale screenshot). With `events` (the scanner's
    key is limited to them) a ticket of another event is "unknown" too and
    stays valid: that door neither uses it nor learns anything about it.
    With `event` (the event a staff gate chose) a ticket of another event
    stays valid and answers "wrong_day" when that event is on another local
    date than the gate's, else "other_event" (a void ticket is "void" first).
    The winner records `gate` and an audit entry in the same transaction;
    "already_used" tickets carry the first gate and time (`used_gate`, `used_at`).
    """
    at = at or timezone.now()
    code, _sep, otp = scanned.strip().partition(".")
    ticket = _ticket_by_code(code)
    if ticket is None or (events is not None and ticket.event_id not in events):
        return UNKNOWN, None
    if (
        ticket.totp_secret
        and rotating_qr_enabled()
        and not totp_accepts(ticket.totp_secret, otp, at)
    ):
        return UNKNOWN, None
    if ticket.status == Ticket.Status.VOID:
        return VOID, ticket  # refunded or cancelled: no door takes it, whatever its event
    if event is not None and ticket.event_id != event.pk:
        same_day = event_local_date(ticket.event) == event_local_date(event)
        return (OTHER_EVENT if same_day else WRONG_DAY), ticket
    gate = _gate_name(gate)
    with transaction.atomic():
        won = Ticket.objects.filter(pk=ticket.pk, status=Ticket.Status.VALID).update(
            status=Ticket.Status.USED, used_at=at, used_gate=gate
        )
        if won:
            audit_log(
                action=AuditAction.TICKET_CHECKED_IN,
                obj=ticket,
                actor_user=actor_user,
                actor=actor,
                data={"event": ticket.event_id, "gate": gate, "order": ticket.order_id},
            )
    ticket.refresh_from_db(fields=["status", "used_at", "used_gate"])
    if won:
        return OK, ticket
    return (VOID if ticket.status == Ticket.Status.VOID else ALREADY_USED), ticket


def ticket_checkin_override(
    *,
    scanned: str,
    event: Event,
    gate: str,
    reason: str,
    actor_user: Any,
    at: datetime | None = None,
) -> Ticket:
    """A supervisor lets a refused ticket in anyway (used, void, another show),
    with a reason; audited as `ticket.checkin_overridden` with the status it had.

    A valid ticket becomes used at this gate (it cannot get in again); a used
    or void one keeps its status and its first gate and time. The rotating
    step is not asked for: the supervisor looked at the ticket, and the code
    alone (128 random bits) names it. Locks the ticket row (FOR UPDATE) so a
    scan racing the override either wins first or sees it used.
    """
    reason = " ".join(reason.split())
    if not reason:
        raise OverrideReasonRequired()
    if len(reason) > OVERRIDE_REASON_MAX_LENGTH:
        raise OverrideReasonRequired(_("The reason is too long (500 characters at most)."))
    code = scanned.strip().partition(".")[0]
    found = _ticket_by_code(code)
    if found is None:
        raise TicketNotFound()
    gate, at = _gate_name(gate), at or timezone.now()
    with transaction.atomic():
        ticket = Ticket.objects.select_for_update().get(pk=found.pk)
        previous = ticket.status
        if previous == Ticket.Status.VALID:
            ticket.status, ticket.used_at, ticket.used_gate = Ticket.Status.USED, at, gate
            ticket.save(update_fields=["status", "used_at", "used_gate"])
        audit_log(
            action=AuditAction.TICKET_CHECKIN_OVERRIDDEN,
            obj=ticket,
            actor_user=actor_user,
            data={
                "event": event.pk,
                "ticket_event": ticket.event_id,
                "gate": gate,
                "reason": reason,
                "previous_status": previous,
            },
        )
    found.status, found.used_at, found.used_gate = ticket.status, ticket.used_at, ticket.used_gate
    return found


def ticket_describe(ticket: Ticket) -> dict[str, str | None]:
    """A ticket's place (section, row, seat, tier), as its hold kind describes it."""
    return holdkinds.kind_of_ticket(ticket).describe(ticket)
