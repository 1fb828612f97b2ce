"""Orders: a hold plus the buyer's contact details, awaiting payment.

An order carries its hold's expiry; the sweeper (holds_expire) expires both.
One order per hold: a second order_create for the same hold is refused with
409 `order_exists` (details carry the existing order's code when it is the
same buyer), so a double-submitted checkout form never makes two orders.
"""

from __future__ import annotations

import json
import secrets
import uuid
from contextlib import nullcontext
from typing import Any, NoReturn

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.selectors import Buyer
from events.models import EventSeat
from events.selectors import sale_snapshot
from orders.exceptions import (
    Forbidden,
    HoldExpired,
    HoldNotFound,
    OrderExists,
    OrderNotCancellable,
    ValidationFailed,
)
from orders.models import Hold, Order
from orders.services.holds import hold_return_stock
from orders.ticket_types import choices_clean, seat_types_price
from ticketing import metrics
from ticketing.audit import AuditAction, audit_actor, audit_log

# No 0/O, 1/I/L: a code read out over the phone is never ambiguous.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 8
PHONE_REGION = "KZ"


def order_code_new() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def contact_clean(*, email: str, name: str, phone: str = "") -> dict[str, str]:
    """Validate and normalise contact details; raises ValidationFailed with per-field messages."""
    errors: dict[str, list[str]] = {}
    email = (email or "").strip()
    name = (name or "").strip()
    phone = (phone or "").strip()
    try:
        validate_email(email)
    except DjangoValidationError:
        errors["email"] = [_("Enter a valid e-mail address.")]
    if not name:
        errors["name"] = [_("Enter the name for the tickets.")]
    elif len(name) > 200:
        errors["name"] = [_("The name is too long (at most 200 characters).")]
    if phone:
        try:
            parsed = phonenumbers.parse(phone, PHONE_REGION)
            if not phonenumbers.is_valid_number(parsed):
                raise phonenumbers.NumberParseException(0, "invalid")
            phone = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
        except phonenumbers.NumberParseException:
            errors["phone"] = [_("Enter a valid phone number, e.g. +7 701 234 5678.")]
    if errors:
        raise ValidationFailed(details=errors)
    return {"email": email, "name": name, "phone": phone}


@metrics.counted(metrics.ORDERS, success="created")
def order_create(
    *,
    hold: Hold | Any,
    buyer: Buyer,
    email: str,
    name: str,
    phone: str = "",
    buyer_ref: str = "",
    user: Any = None,
    language: str = "",
    ticket_types: dict[Any, str] | None = None,
) -> Order:
    """Turn the buyer's active, unexpired hold into an order awaiting payment.

    `language` is the buyer's (the request's) language; the ticket e-mail is
    written in it. Unknown or empty falls back to LANGUAGE_CODE.

    `ticket_types` ({EventSeat id: TicketType key}) is who each seat's ticket
    is for, when the event sells types (orders/ticket_types.py): the order's
    total is then the types' prices (seats left out get the first type sold
    for their tier). A seat not the hold's, an unknown type or one not sold
    for the seat's tier is a validation_error 400 and the hold stays as it was.

    `hold` is a Hold or its id. Errors: hold_not_found 404, forbidden 403
    (another buyer's hold), hold_expired 410, order_exists 409 (one order per
    hold), validation_error 400 (contact). Locks the Hold row, so a racing
    release/sweep/second order waits and then sees the new state.
    """
    contact = contact_clean(email=email, name=name, phone=phone)
    contact["language"] = order_language(language)
    chosen = choices_clean(ticket_types)
    hold_id = hold.pk if isinstance(hold, Hold) else hold
    for _attempt in range(5):
        try:
            if not chosen:
                order = _order_create_in_one(hold_id, buyer, contact, buyer_ref, user)
                if order is not None:
                    return order
            # Ticket types to price, or a hold that cannot be ordered (the
            # refusal says why): the transaction below.
            return _order_create(hold_id, buyer, contact, buyer_ref, user, chosen)
        except IntegrityError as exc:
            # 31^8 ≈ 8.5e11 codes: a clash is rare enough to retry the whole
            # transaction (the hold's conversion rolls back with it) rather than
            # pay a savepoint on every order.
            if "hold_id" in str(exc):
                raise OrderExists() from exc
    raise RuntimeError("could not draw a unique order code in 5 attempts")


def order_language(language: str) -> str:
    """One of settings.LANGUAGES for a requested language code ("en-GB" -> "en")."""
    try:
        return translation.get_supported_language_variant(language or settings.LANGUAGE_CODE)
    except LookupError:
        return settings.LANGUAGE_CODE


# Converts the buyer's live hold in one statement (the row lock of an UPDATE
# serialises it with release, the sweeper and a second order like SELECT ...
# FOR UPDATE did) and returns what the order copies from it.
_CONVERT_SQL = """
UPDATE orders_hold SET status = 'converted'
WHERE id = %s AND buyer_key = %s AND status = 'active' AND expires_at > %s
RETURNING event_id, phase_id, user_id, quantity, total, currency, expires_at, seat_ids
"""


# The common order in ONE statement, so it needs no transaction of its own
# (no BEGIN/COMMIT round trips): the conditional conversion of the buyer's
# live hold (its row lock serialises with release, the sweeper and a second
# order, as _CONVERT_SQL's does), the order copied from it and its audit row
# — all or nothing, as one statement is. Only for holds priced as they are:
# no seats, or an event without ticket types (else _priced_by_type reprices
# them, in _order_create). When it matches nothing, _order_create runs and
# says why (404/403/409/410).
_CREATE_IN_ONE_SQL = """
WITH h AS (
  UPDATE orders_hold SET status = 'converted'
  WHERE id = %(hold)s AND buyer_key = %(buyer_key)s AND status = 'active'
    AND expires_at > %(now)s
    AND (seat_ids = '[]'::jsonb
         OR NOT EXISTS (SELECT 1 FROM events_tickettype t WHERE t.event_id = orders_hold.event_id))
  RETURNING id, event_id, phase_id, user_id, quantity, total, currency, expires_at
), o AS (
  INSERT INTO orders_order
    (code, access_token, event_id, phase_id, hold_id, buyer_key, channel, partner_id,
     buyer_ref, user_id, email, name, phone, language, status, quantity, total, currency,
     seat_types, expires_at, created_at, paid_at)
  SELECT %(code)s, %(token)s, h.event_id, h.phase_id, h.id, %(buyer_key)s, %(channel)s,
         %(partner)s, %(buyer_ref)s, coalesce(%(user)s, h.user_id), %(email)s, %(name)s,
         %(phone)s, %(language)s, 'pending_payment', h.quantity, h.total, h.currency,
         '{}'::jsonb, h.expires_at, %(now)s, NULL
  FROM h
  RETURNING id, event_id, phase_id, user_id, quantity, total, currency, expires_at
), a AS (
  INSERT INTO orders_auditentry
    (created_at, actor_user_id, actor, action, object_type, object_id, data)
  SELECT %(now)s, %(actor_user)s, %(actor)s, %(action)s, 'orders.order', o.id::text,
         jsonb_build_object('hold', %(hold_text)s, 'total', o.total::text,
                            'quantity', o.quantity)
  FROM o
)
SELECT id, event_id, phase_id, user_id, quantity, total, currency, expires_at FROM o
"""


def _order_create_in_one(
    hold_id: Any, buyer: Buyer, contact: dict[str, str], buyer_ref: str, user: Any
) -> Order | None:
    """The order, or None when the hold cannot be ordered this way (any reason)."""
    try:
        hold_uuid = uuid.UUID(str(hold_id))
    except ValueError:
        return None  # _order_create refuses it (404)
    now = timezone.now()
    actor_user = user if getattr(user, "is_authenticated", False) else None
    order = Order(
        code=order_code_new(),
        access_token=secrets.token_urlsafe(32),
        hold_id=hold_uuid,
        buyer_key=buyer.key,
        channel=buyer.channel,
        partner_id=buyer.partner_id,
        buyer_ref=buyer_ref or "",
        created_at=now,
        **contact,
    )
    params = {
        "hold": hold_uuid,
        "hold_text": str(hold_uuid),
        "buyer_key": buyer.key,
        "now": now,
        "code": order.code,
        "token": order.access_token,
        "channel": order.channel,
        "partner": order.partner_id,
        "buyer_ref": order.buyer_ref,
        "user": buyer.user_id,
        "email": order.email,
        "name": order.name,
        "phone": order.phone,
        "language": order.language,
        "actor_user": getattr(actor_user, "pk", None),
        "actor": audit_actor(actor=buyer.key, user=actor_user),
        "action": AuditAction.ORDER_CREATED.value,
    }
    # One statement is atomic by itself; inside a caller's transaction it
    # gets a savepoint, so an order-code clash (IntegrityError) can be retried.
    atomic = transaction.atomic() if connection.in_atomic_block else nullcontext()
    with atomic, connection.cursor() as cursor:
        cursor.execute(_CREATE_IN_ONE_SQL, params)
        row = cursor.fetchone()
    if row is None:
        return None
    (order.pk, order.event_id, order.phase_id, order.user_id, order.quantity, order.total,
     order.currency, order.expires_at) = row  # fmt: skip
    order.seat_types = {}
    order._state.adding = False
    return order


def _priced_by_type(event_id: int, seat_ids: list[int], chosen: dict[int, str]):
    """(Order.seat_types, total) when the event sells ticket types, else None.
    From the sale snapshot: no query for an event without types."""
    if not chosen and not seat_ids:
        return None  # standing places: types are chosen per seat only
    sale = sale_snapshot(event_id)
    if sale is None or not (sale.ticket_types or chosen):
        return None
    # Types chosen for an event without any, or for a hold without those
    # seats: seat_types_price refuses them.
    seat_tiers = dict(EventSeat.objects.filter(pk__in=seat_ids).values_list("pk", "tier_id"))
    return seat_types_price(sale=sale, seat_tiers=seat_tiers, chosen=chosen)


def _order_create(
    hold_id: Any,
    buyer: Buyer,
    contact: dict[str, str],
    buyer_ref: str,
    user: Any,
    chosen: dict[int, str],
) -> Order:
    now = timezone.now()
    with transaction.atomic():
        try:
            with connection.cursor() as cursor:
                cursor.execute(_CONVERT_SQL, [uuid.UUID(str(hold_id)), buyer.key, now])
                row = cursor.fetchone()
        except ValueError as exc:  # not a UUID
            raise HoldNotFound() from exc
        if row is None:
            _refuse_order(hold_id, buyer, now)
        event_id, phase_id, hold_user_id, quantity, total, currency, expires_at, seat_ids = row
        seat_types: dict = {}
        # Raising here rolls the hold's conversion back with everything else.
        if isinstance(seat_ids, str):  # jsonb comes back as text from a raw cursor
            seat_ids = json.loads(seat_ids)
        priced = _priced_by_type(event_id, list(seat_ids or []), chosen)
        if priced is not None:
            seat_types, total = priced
        order = Order.objects.create(
            code=order_code_new(),
            access_token=secrets.token_urlsafe(32),
            event_id=event_id,
            phase_id=phase_id,
            hold_id=hold_id,
            buyer_key=buyer.key,
            channel=buyer.channel,
            partner_id=buyer.partner_id,
            buyer_ref=buyer_ref or "",
            user_id=buyer.user_id or hold_user_id,
            quantity=quantity,
            total=total,
            currency=currency,
            seat_types=seat_types,
            expires_at=expires_at,
            **contact,
        )
        audit_log(
            action=AuditAction.ORDER_CREATED,
            obj=order,
            actor_user=user,
            actor=buyer.key,
            data={
                "hold": str(hold_id),
                "total": str(order.total),
                "quantity": order.quantity,
                **({"seat_types": seat_types} if seat_types else {}),
            },
        )
    return order


def _refuse_order(hold_id: Any, buyer: Buyer, now: Any) -> NoReturn:
    """The conditional UPDATE changed nothing: say why (slow path, same transaction)."""
    hold = Hold.objects.select_for_update().filter(pk=hold_id).first()
    if hold is None:
        raise HoldNotFound()
    if hold.buyer_key != buyer.key:
        raise Forbidden()
    if hold.status == Hold.Status.CONVERTED:
        existing = Order.objects.filter(hold=hold).values_list("code", flat=True).first()
        raise OrderExists(details={"order": existing})
    raise HoldExpired()


def order_lock(*, order: Order) -> Order:
    """Lock the order's Hold row, then the Order row: the one lock order of
    every service that changes an order (cancel, payment start, callbacks,
    refunds, the hold sweeper), so two of them queue instead of deadlocking.
    Returns the order as locked, with `.hold` set. Caller is in a transaction.
    """
    hold = Hold.objects.select_for_update().get(pk=order.hold_id)  # an order's hold never changes
    # With its sale phase (payment start, settlement read its card rule) and
    # its event (payment start refuses a cancelled one), in the same
    # statement; only the order row is locked.
    locked = (
        Order.objects.select_for_update(of=("self",))
        .select_related("phase", "event")
        .get(pk=order.pk)
    )
    locked.hold = hold
    return locked


def order_cancel(*, order: Order, actor: str = "", actor_user: Any = None) -> Order:
    """Cancel an unpaid order and give its stock back at once.

    Only `pending_payment` orders; others → order_not_cancellable 409. Locks
    the Hold row first (the same order as the sweeper and payments), then the
    order row, so a payment success and a cancel cannot both win.
    """
    with transaction.atomic():
        order = order_lock(order=order)
        if order.status != Order.Status.PENDING_PAYMENT:
            raise OrderNotCancellable(details={"status": order.status})
        hold = order.hold
        if hold.status in (Hold.Status.ACTIVE, Hold.Status.CONVERTED):
            hold_return_stock(hold=hold, status=Hold.Status.RELEASED, actor=actor)
        order.status = Order.Status.CANCELLED
        order.save(update_fields=["status"])
        audit_log(action=AuditAction.ORDER_CANCELLED, obj=order, actor=actor, actor_user=actor_user)
    return order


def order_attach_guest_orders(
    *, user: Any, email: str | None = None, phone: str | None = None
) -> int:
    """Give a signed-in user their earlier guest orders; returns how many.

    For the accounts team, after the user VERIFIED this e-mail/phone: orders
    with that contact and no user get this user. Never re-assigns an order
    that already has one.
    """
    match = Q()
    if email:
        match |= Q(email__iexact=email.strip())
    if phone:
        match |= Q(phone=phone.strip())
    if not match:
        return 0
    with transaction.atomic():
        ids = list(
            Order.objects.select_for_update()
            .filter(match, user__isnull=True)
            .values_list("pk", flat=True)
        )
        Order.objects.filter(pk__in=ids, user__isnull=True).update(user=user)
        for order_id in ids:
            audit_log(
                action=AuditAction.ORDER_ATTACHED,
                object_type="orders.order",
                object_id=str(order_id),
                actor_user=user,
            )
    return len(ids)


def hold_visible_to(*, hold: Hold, buyer: Buyer) -> bool:
    """A hold is seen only by the buyer that made it (or, for a partner's API key,
    the same partner; a partner's customer in its webview sees only their own)."""
    if buyer.partner_id is not None and not buyer.partner_customer:
        return hold.channel == buyer.channel
    return hold.buyer_key == buyer.key
