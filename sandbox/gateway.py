"""The gateway's services: take a payment link, charge a card once, confirm
3-D Secure, refund, answer the status query, queue the merchant's callbacks.

Everything the gateway knows about a payment came over HTTP: the merchant
signed it into the payment link the buyer's browser brought (`link_read`),
and the gateway keeps its own books (SandboxPayment, SandboxCharge,
SandboxRefund in Postgres: they survive a Redis loss, and the merchant's
reconciliation trusts the status query that answers from them). Only the
pending 3-D Secure step is in the cache: losing it means the buyer types the
card again; nothing was charged yet.
"""

from __future__ import annotations

import hmac
import json
import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core import signing
from django.core.cache import cache
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from sandbox import cards
from sandbox.models import SandboxCharge, SandboxPayment, SandboxRefund
from ticketing.outbox import outbox_put
from ticketing.signing import hmac_sign, hmac_valid, shared_secret

SIGNATURE_HEADER = "X-Sandbox-Signature"
# The payment link: Django's signing (HMAC-SHA256 over the JSON, with a
# timestamp) under the merchant's secret. A link older than this is refused.
LINK_SALT = "sandbox.payment-link"
LINK_MAX_AGE_SECONDS = 3600
THREE_DS_CODE = "123456"
DELAYED_CALLBACK_SECONDS = 60
CALLBACK_KIND = "sandbox.callback"  # its outbox messages (sandbox.outbox delivers them)

_DECLINE_REASONS = {
    cards.DECLINE: gettext_lazy("Your bank declined the card."),
    cards.INSUFFICIENT_FUNDS: gettext_lazy("Insufficient funds on the card."),
}


class LinkRefused(Exception):
    """A payment link that is forged, expired or contradicts the payment."""


class RefundRefused(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class GatewayResult:
    status: str  # accepted | refused | declined | 3ds | expired
    reason: str = ""
    field: str = ""
    next_url: str = ""


def merchant_secret() -> bytes:
    """The secret the merchant and the gateway share (callbacks, API, links)."""
    return shared_secret("SANDBOX_GATEWAY_SECRET", b"kassa-sandbox-gateway")


def sign(data: bytes) -> str:
    return hmac_sign(merchant_secret(), data)


def signature_valid(data: bytes, header: str | None) -> bool:
    return hmac_valid(merchant_secret(), data, header)


# --- the payment link ------------------------------------------------------------


def link_read(*, payment_id: uuid.UUID, token: str) -> SandboxPayment:
    """The payment the merchant signed into the link, registered on first sight.

    A link for another payment, a forged or expired one, or one that changes an
    amount the gateway already knows raises LinkRefused. Two tabs opening the
    same link at once register it once (the primary key decides)."""
    try:
        data = signing.loads(
            token, key=merchant_secret().hex(), salt=LINK_SALT, max_age=LINK_MAX_AGE_SECONDS
        )
        if str(uuid.UUID(str(data["id"]))) != str(payment_id):
            raise LinkRefused("another payment's link")
        fields = {
            "merchant": str(data["merchant"])[:100],
            "description": str(data.get("description", ""))[:200],
            "amount": Decimal(str(data["amount"])),
            "currency": str(data["currency"])[:3],
            "return_url": str(data["return_url"])[:500],
            "callback_url": str(data["callback_url"])[:500],
            "card_brands": [str(b)[:20] for b in data.get("brands", [])],
            "card_bins": [str(b)[:8] for b in data.get("bins", [])],
            "card_note": str(data.get("note", ""))[:300],
        }
    except signing.BadSignature as exc:  # SignatureExpired is one too
        raise LinkRefused(str(exc)) from exc
    except (KeyError, TypeError, ValueError, InvalidOperation, AttributeError) as exc:
        raise LinkRefused("malformed link") from exc
    payment, _created = SandboxPayment.objects.get_or_create(pk=payment_id, defaults=fields)
    if (payment.amount, payment.currency) != (fields["amount"], fields["currency"]):
        raise LinkRefused("the link changes the payment's amount")
    return payment


def payment_known(payment_id: uuid.UUID) -> SandboxPayment | None:
    return SandboxPayment.objects.filter(pk=payment_id).first()


def already_charged(payment: SandboxPayment) -> bool:
    return SandboxCharge.objects.filter(payment=payment).exists()


# --- charging ------------------------------------------------------------------------


def gateway_charge(
    *, payment: SandboxPayment, number: str, exp_month: str, exp_year: str, cvc: str, today: date
) -> GatewayResult:
    """The card form's POST: validate, apply the merchant's restriction, charge."""
    if already_charged(payment):
        return _spent_result(payment)
    check = cards.card_check(
        number=number, exp_month=exp_month, exp_year=exp_year, cvc=cvc, today=today
    )
    if not check.ok:
        return GatewayResult("refused", reason=check.reason, field=check.field)
    refusal = cards.card_restricted(check=check, brands=payment.card_brands, bins=payment.card_bins)
    if refusal:
        return GatewayResult("refused", reason=refusal, field="card_number")
    behaviour = cards.card_behaviour(number)
    if behaviour == cards.THREE_DS:
        cache.set(_pending_3ds_key(payment.pk), check.card(), timeout=15 * 60)
        return GatewayResult("3ds", next_url=reverse("sandbox:three_ds", args=[payment.pk]))
    return _charge(payment, check.card(), behaviour)


def three_ds_pending(payment: SandboxPayment) -> dict[str, str] | None:
    return cache.get(_pending_3ds_key(payment.pk))


def gateway_3ds_confirm(*, payment: SandboxPayment, code: str) -> GatewayResult:
    card = three_ds_pending(payment)
    if card is None:
        return GatewayResult("expired")
    if not hmac.compare_digest(code.strip(), THREE_DS_CODE):
        return GatewayResult("refused", reason=_("Wrong confirmation code."), field="code")
    cache.delete(_pending_3ds_key(payment.pk))
    return _charge(payment, card, cards.SUCCEED)


def _pending_3ds_key(payment_id: uuid.UUID) -> str:
    return f"sbx:3ds:{payment_id}"


def _charge(payment: SandboxPayment, card: dict[str, str], behaviour: str) -> GatewayResult:
    """Take the money (once per payment) and queue the merchant's callback.

    One transaction: the charge row and its callback's outbox row commit
    together, so a charge whose callback is lost cannot exist (and the status
    query knows the charge even if the callback never arrives)."""
    event_id = "evt_" + uuid.uuid4().hex
    declined = behaviour in _DECLINE_REASONS
    status = SandboxCharge.Status.FAILED if declined else SandboxCharge.Status.SUCCEEDED
    reason = behaviour if declined else ""
    with transaction.atomic():
        if not _charge_claim(
            payment=payment, status=status, card=card, reason=reason, event_id=event_id
        ):
            return _spent_result(payment)
        body = _callback_body(
            payment=payment, status=status, event_id=event_id, card=card, reason=reason
        )
        if declined:
            _callback_queue(payment=payment, body=body)
            return GatewayResult("declined", reason=str(_DECLINE_REASONS[behaviour]))
        if behaviour == cards.NO_CALLBACK:
            return GatewayResult("accepted")
        _callback_queue(
            payment=payment,
            body=body,
            countdown=DELAYED_CALLBACK_SECONDS if behaviour == cards.DELAYED else 0,
            copies=2 if behaviour == cards.DUPLICATE else 1,
        )
    return GatewayResult("accepted")


def _charge_claim(
    *, payment: SandboxPayment, status: str, card: dict[str, str], reason: str, event_id: str
) -> bool:
    """Record the charge; True once per payment: a double-submitted form charges once.

    INSERT ... ON CONFLICT DO NOTHING: the unique payment_id decides between
    two racing submits, without an IntegrityError to catch in a savepoint.
    """
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {SandboxCharge._meta.db_table} "  # noqa: S608 - our table name
            "(payment_id, status, card, reason, event_id, refunded_amount, created_at, updated_at) "
            "VALUES (%s, %s, %s::jsonb, %s, %s, 0, %s, %s) "
            "ON CONFLICT (payment_id) DO NOTHING RETURNING id",
            [payment.pk, status, json.dumps(card), reason, event_id, now, now],
        )
        return cursor.fetchone() is not None


def _spent_result(payment: SandboxPayment) -> GatewayResult:
    """A form posted again for a payment already charged: the same answer as
    the first time. A declined attempt stays declined (the buyer starts a new
    payment from the shop); it was never 'accepted'."""
    charge = SandboxCharge.objects.filter(payment=payment).first()
    if charge is not None and charge.status == SandboxCharge.Status.FAILED:
        reason = str(_DECLINE_REASONS.get(charge.reason, "")) or _("Your bank declined the card.")
        return GatewayResult("declined", reason=reason)
    return GatewayResult("accepted")


# --- refunds and the status query -------------------------------------------------------


def gateway_refund(
    *, payment_id: uuid.UUID, refund_id: str, amount: Decimal | None, reference: str = ""
) -> SandboxRefund:
    """Return money of a charged payment: all that is left, or `amount`.

    Idempotent by the merchant's `refund_id`: asked again, it queues the same
    callback again (the merchant applies an event once) and moves no money.
    Locks the charge row, so two refunds at once never return more than was
    charged. The `refunded` callback (event `refund-<refund_id>`) carries the
    amount this refund returned, or the payment's amount for a refund of all
    that was left (the payment is refunded), and the merchant's `reference`
    as `refund_id` when it gave one.
    """
    with transaction.atomic():
        charge = (
            SandboxCharge.objects.select_for_update()
            .select_related("payment")
            .filter(payment_id=payment_id)
            .first()
        )
        if charge is None or charge.status == SandboxCharge.Status.FAILED:
            raise RefundRefused("not_charged", _("This payment was never charged."))
        payment = charge.payment
        refund = SandboxRefund.objects.filter(refund_id=refund_id).first()
        whole = amount is None
        if refund is None:
            left = payment.amount - charge.refunded_amount
            amount = left if whole else amount
            if amount <= 0 or amount > left:
                raise RefundRefused(
                    "amount_invalid", _("A refund must be more than 0 and at most what is left.")
                )
            refund = SandboxRefund.objects.create(
                payment=payment, refund_id=refund_id, amount=amount
            )
            charge.refunded_amount += amount
            if charge.refunded_amount == payment.amount:
                charge.status = SandboxCharge.Status.REFUNDED
            charge.updated_at = timezone.now()
            charge.save(update_fields=["refunded_amount", "status", "updated_at"])
        body = _callback_body(
            payment=payment,
            status="refunded",
            event_id=f"refund-{refund.refund_id}",
            card=charge.card,
            amount=None if whole else refund.amount,
        )
        if reference:
            body["refund_id"] = reference
        _callback_queue(payment=payment, body=body)
    return refund


def gateway_status(payment_id: uuid.UUID) -> dict[str, Any]:
    """The status query's answer: the gateway's own record, not the merchant's.
    A payment whose link was never opened was never charged: `created`."""
    charge = SandboxCharge.objects.select_related("payment").filter(payment_id=payment_id).first()
    payment = charge.payment if charge else payment_known(payment_id)
    answer: dict[str, Any] = {
        "payment_id": str(payment_id),
        "status": charge.status if charge else "created",
        "amount": str(payment.amount) if payment else None,
        "currency": payment.currency if payment else None,
        "card": charge.card if charge else {},
    }
    if charge:
        answer["refunded_amount"] = str(charge.refunded_amount)
        if charge.reason:
            answer["reason"] = charge.reason
    return answer


# --- callbacks ----------------------------------------------------------------------------


def _callback_body(
    *,
    payment: SandboxPayment,
    status: str,
    event_id: str,
    card: dict[str, str],
    reason: str = "",
    amount: Decimal | None = None,
) -> dict[str, Any]:
    body = {
        "payment_id": str(payment.pk),
        "status": status,
        "amount": str(payment.amount if amount is None else amount),
        "currency": payment.currency,
        "card": card,
        "event_id": event_id,
    }
    if reason:
        body["reason"] = reason
    return body


def _callback_queue(
    *, payment: SandboxPayment, body: dict[str, Any], countdown: int = 0, copies: int = 1
) -> None:
    """Queue the signed callback in the caller's transaction (an outbox row per
    copy: the DUPLICATE card sends two on purpose), delivered `countdown`
    seconds after the commit and retried until the merchant answers 2xx."""
    for _copy in range(copies):
        outbox_put(
            kind=CALLBACK_KIND,
            payload={"url": payment.callback_url, "body": body},
            delay_seconds=countdown,
        )
