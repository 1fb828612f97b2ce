"""The built-in `sandbox` gateway: card checks, test cards, HMAC signing.

It plays the acquirer's part inside the project so every payment path can be
exercised over real HTTP. Its own books (what it charged, declined or
refunded) are SandboxCharge rows in Postgres, the pending 3-D Secure step is in
the cache; never a card number: the merchant side only ever sees brand, BIN
(first 6) and last 4.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from events.cards import card_rule_refusal
from payments.exceptions import BadCallback, ProviderUnavailable
from payments.messages import SANDBOX_CALLBACK
from payments.models import SandboxCharge
from payments.providers import (
    CallbackEvent,
    PaymentProvider,
    ProviderStatus,
)
from ticketing.outbox import outbox_put

if TYPE_CHECKING:
    from django.http import HttpRequest

    from payments.models import Payment

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Sandbox-Signature"
CALLBACK_PATH = "/api/v1/payments/sandbox/callback/"
# The status query (reconciliation). A GET has no body, so its signature is
# the same HMAC over the request path: `X-Sandbox-Signature: sha256=<hex
# HMAC-SHA256 of "/sandbox-gateway/api/payments/<payment_id>/">`. Binding the
# path means a signature for one payment never reads another.
STATUS_PATH = "/sandbox-gateway/api/payments/{payment_id}/"
STATUS_TIMEOUT_SECONDS = 10
THREE_DS_CODE = "123456"
DELAYED_CALLBACK_SECONDS = 60

# Test cards (API.md): number -> behaviour. Any other valid card succeeds.
SUCCEED = "succeed"
DECLINE = "decline"
INSUFFICIENT_FUNDS = "insufficient_funds"
THREE_DS = "3ds"
DELAYED = "delayed"
DUPLICATE = "duplicate"
NO_CALLBACK = "no_callback"
# The partner-bank numbers in API.md (4400 43…) do not pass Luhn; the listed
# test cards are accepted as they are, every other number must pass it.
TEST_CARDS = {
    "4400430000000001": SUCCEED,
    "4000000000000002": DECLINE,
    "4000000000009995": INSUFFICIENT_FUNDS,
    "4000000000003220": THREE_DS,
    "4000000000000119": DELAYED,
    "4400430000000019": DUPLICATE,
    "4000000000000770": NO_CALLBACK,  # only reconciliation settles it
}


def gateway_secret() -> bytes:
    configured = getattr(settings, "SANDBOX_GATEWAY_SECRET", "")
    if configured:
        return configured.encode()
    # Derived, so a fresh install signs without extra configuration but the
    # secret is still never the SECRET_KEY itself.
    return hmac.new(settings.SECRET_KEY.encode(), b"kassa-sandbox-gateway", "sha256").digest()


def sign(body: bytes) -> str:
    return "sha256=" + hmac.new(gateway_secret(), body, hashlib.sha256).hexdigest()


def signature_valid(body: bytes, header: str | None) -> bool:
    return bool(header) and hmac.compare_digest(sign(body), header)


# --- cards ------------------------------------------------------------------


def card_digits(raw: str) -> str:
    return "".join(ch for ch in raw if not ch.isspace() and ch != "-")


def luhn_valid(number: str) -> bool:
    # isascii: "²".isdigit() is True, and int("²") would raise below.
    if not (number.isascii() and number.isdigit()) or not 12 <= len(number) <= 19:
        return False
    total = 0
    for index, ch in enumerate(reversed(number)):
        digit = int(ch)
        if index % 2 == 1:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def card_brand(number: str) -> str:
    """Brand from the leading digits (the IIN ranges the acquirers publish)."""
    two, four = int(number[:2] or 0), int(number[:4] or 0)
    if number.startswith("4"):
        return "visa"
    if 51 <= two <= 55 or 2221 <= four <= 2720:
        return "mastercard"
    if two in (34, 37):
        return "amex"
    if number.startswith("62"):
        return "unionpay"
    if 3528 <= four <= 3589:
        return "jcb"
    if number.startswith(("2200", "2201", "2202", "2203", "2204")):
        return "mir"
    if number.startswith(("6011", "65")):
        return "discover"
    if number.startswith(("50", "56", "57", "58", "6")):
        return "maestro"
    return "unknown"


@dataclass(frozen=True)
class CardCheck:
    ok: bool
    reason: str = ""
    field: str = ""
    brand: str = ""
    bin: str = ""
    last4: str = ""


def card_check(*, number: str, exp_month: str, exp_year: str, cvc: str, today: date) -> CardCheck:
    """Validate the form fields; never keep more than brand, BIN and last 4."""
    digits = card_digits(number)
    if digits not in TEST_CARDS and not luhn_valid(digits):
        return CardCheck(False, _("The card number is not valid."), "card_number")
    try:
        month, year = int(exp_month), int(exp_year)
    except (TypeError, ValueError):
        return CardCheck(False, _("Enter the expiry month and year."), "exp_month")
    if year < 100:
        year += 2000
    if not 1 <= month <= 12:
        return CardCheck(False, _("The expiry month must be 1 to 12."), "exp_month")
    if (year, month) < (today.year, today.month):
        return CardCheck(False, _("The card has expired."), "exp_year")
    if not ((cvc or "").isascii() and cvc.isdigit()) or len(cvc) not in (3, 4):
        return CardCheck(False, _("The CVC is the 3 or 4 digits on the back."), "cvc")
    return CardCheck(True, brand=card_brand(digits), bin=digits[:6], last4=digits[-4:])


def card_behaviour(number: str) -> str:
    return TEST_CARDS.get(card_digits(number), SUCCEED)


# --- gateway-side state ----------------------------------------------------------
# What the gateway charged is its SandboxCharge row in Postgres (it must
# survive a Redis loss: reconciliation trusts the status query). Only the
# pending 3-D Secure step is in the cache: losing it means the buyer types the
# card again; nothing was charged yet.


def gateway_status(payment: Payment) -> dict:
    """The status query's answer: the gateway's own record, not the merchant's."""
    charge = SandboxCharge.objects.filter(payment_id=payment.pk).first()
    answer = {
        "payment_id": str(payment.pk),
        "status": charge.status if charge else "created",
        "amount": str(payment.amount),
        "currency": payment.currency,
        "card": charge.card if charge else {},
    }
    if charge and charge.reason:
        answer["reason"] = charge.reason
    return answer


def _pending_3ds_key(payment_id: str) -> str:
    return f"sbx:3ds:{payment_id}"


def charge_claim(
    *, payment: Payment, status: str, card: dict[str, str], reason: str, event_id: str
) -> bool:
    """Record the charge; True once per payment: a double-submitted form charges once.

    INSERT ... ON CONFLICT DO NOTHING: the unique payment_id decides between
    two racing submits, without an IntegrityError to catch in a savepoint.
    Call it inside the transaction that also queues the charge's callback.
    """
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {SandboxCharge._meta.db_table} "  # noqa: S608 - our table name
            "(payment_id, status, card, reason, event_id, partial_refunds, created_at, updated_at) "
            "VALUES (%s, %s, %s::jsonb, %s, %s, '{}'::jsonb, %s, %s) "
            "ON CONFLICT (payment_id) DO NOTHING RETURNING id",
            [payment.pk, status, json.dumps(card), reason, event_id, now, now],
        )
        return cursor.fetchone() is not None


def already_charged(payment_id: str) -> bool:
    return SandboxCharge.objects.filter(payment_id=payment_id).exists()


def _spent_result(payment: Payment) -> GatewayResult:
    """A form posted again for a payment already charged: the same answer as
    the first time. A declined attempt stays declined (the buyer starts a new
    payment from the shop); it was never 'accepted'."""
    charge = SandboxCharge.objects.filter(payment_id=payment.pk).first()
    if payment.status == payment.Status.FAILED or (
        charge is not None and charge.status == SandboxCharge.Status.FAILED
    ):
        reason = str(_DECLINE_REASONS.get(charge.reason, "")) if charge else ""
        return GatewayResult("declined", reason=reason or payment.failure_reason or "declined")
    return GatewayResult("accepted")


def three_ds_remember(payment_id: str, card: dict[str, str]) -> None:
    cache.set(_pending_3ds_key(payment_id), card, timeout=15 * 60)


def three_ds_pending(payment_id: str) -> dict[str, str] | None:
    return cache.get(_pending_3ds_key(payment_id))


def three_ds_forget(payment_id: str) -> None:
    cache.delete(_pending_3ds_key(payment_id))


# --- callbacks ------------------------------------------------------------------


def callback_body(
    *, payment: Payment, status: str, event_id: str, card: dict[str, str], reason: str = ""
) -> dict:
    body = {
        "payment_id": str(payment.pk),
        "status": status,
        "amount": str(payment.amount),
        "currency": payment.currency,
        "card": card,
        "event_id": event_id,
    }
    if reason:
        body["reason"] = reason
    return body


def callback_schedule(*, body: dict, countdown: int = 0, copies: int = 1) -> None:
    """Queue the signed callback in the caller's transaction (an outbox row per
    copy: the DUPLICATE card sends two on purpose), delivered `countdown`
    seconds after the commit and retried until the merchant answers 2xx."""
    for _copy in range(copies):
        outbox_put(kind=SANDBOX_CALLBACK, payload={"body": body}, delay_seconds=countdown)


@dataclass(frozen=True)
class GatewayResult:
    status: str  # accepted | refused | declined | 3ds | expired
    reason: str = ""
    field: str = ""
    next_url: str = ""


_DECLINE_REASONS = {
    DECLINE: gettext_lazy("Your bank declined the card."),
    INSUFFICIENT_FUNDS: gettext_lazy("Insufficient funds on the card."),
}


def _charge(payment: Payment, card: dict[str, str], behaviour: str) -> GatewayResult:
    """Take the money (once per payment) and queue the merchant's callback.

    One transaction: the charge row and its callback's outbox row commit
    together, so a charge whose callback is lost cannot exist (and the
    status query knows the charge even if the callback never arrives)."""
    event_id = "evt_" + uuid.uuid4().hex
    declined = behaviour in _DECLINE_REASONS
    status = "failed" if declined else "succeeded"
    reason = behaviour if declined else ""
    with transaction.atomic():
        if not charge_claim(
            payment=payment, status=status, card=card, reason=reason, event_id=event_id
        ):
            return _spent_result(payment)
        body = callback_body(
            payment=payment, status=status, event_id=event_id, card=card, reason=reason
        )
        if declined:
            callback_schedule(body=body)
            return GatewayResult("declined", reason=str(_DECLINE_REASONS[behaviour]))
        if behaviour == NO_CALLBACK:
            return GatewayResult("accepted")
        callback_schedule(
            body=body,
            countdown=DELAYED_CALLBACK_SECONDS if behaviour == DELAYED else 0,
            copies=2 if behaviour == DUPLICATE else 1,
        )
    return GatewayResult("accepted")


def gateway_charge(
    *, payment: Payment, number: str, exp_month: str, exp_year: str, cvc: str, today: date
) -> GatewayResult:
    """The card form's POST: validate, apply the phase's card rule, then charge."""
    if payment.status != payment.Status.CREATED or already_charged(str(payment.pk)):
        return _spent_result(payment)
    check = card_check(number=number, exp_month=exp_month, exp_year=exp_year, cvc=cvc, today=today)
    if not check.ok:
        return GatewayResult("refused", reason=check.reason, field=check.field)
    phase = payment.order.phase
    refusal = card_rule_refusal(
        brand=check.brand, bin6=check.bin, brands=phase.card_brands, bins=phase.card_bin_prefixes
    )
    if refusal:
        return GatewayResult("refused", reason=refusal, field="card_number")
    card = {"brand": check.brand, "bin": check.bin, "last4": check.last4}
    behaviour = card_behaviour(number)
    if behaviour == THREE_DS:
        three_ds_remember(str(payment.pk), card)
        return GatewayResult(
            "3ds", next_url=reverse("orders_payments:gateway_3ds", args=[payment.pk])
        )
    return _charge(payment, card, behaviour)


def gateway_3ds_confirm(*, payment: Payment, code: str) -> GatewayResult:
    card = three_ds_pending(str(payment.pk))
    if card is None:
        return GatewayResult("expired")
    if not hmac.compare_digest(code.strip(), THREE_DS_CODE):
        return GatewayResult("refused", reason=_("Wrong confirmation code."), field="code")
    three_ds_forget(str(payment.pk))
    return _charge(payment, card, SUCCEED)


class SandboxProvider(PaymentProvider):
    name = "sandbox"

    def create_payment(self, payment: Payment, return_url: str) -> str:
        if not payment.provider_ref:
            payment.provider_ref = "sbx_" + uuid.uuid4().hex[:20]
        return reverse("orders_payments:gateway_pay", args=[payment.pk])

    def verify_callback(self, request: HttpRequest) -> CallbackEvent:
        body = request.body
        if not signature_valid(body, request.headers.get(SIGNATURE_HEADER)):
            raise BadCallback(_("Missing or wrong signature."))
        try:
            data = json.loads(body)
            status = data["status"]
            if status not in ("succeeded", "failed", "refunded"):
                raise ValueError(status)
            card = data.get("card") or {}
            return CallbackEvent(
                event_id=str(data["event_id"]),
                payment_id=str(uuid.UUID(str(data["payment_id"]))),
                status=status,
                amount=Decimal(str(data["amount"])),
                currency=str(data["currency"]),
                card={k: str(card.get(k, ""))[:8] for k in ("brand", "bin", "last4")},
                reason=str(data.get("reason", ""))[:200],
                payload=data,
                refund_id=str(data.get("refund_id") or "")[:40] if status == "refunded" else "",
            )
        except (ValueError, KeyError, TypeError, InvalidOperation, AttributeError) as exc:
            raise BadCallback(_("Malformed callback body.")) from exc

    def refund(self, payment: Payment, amount: Decimal | None = None, reference: str = "") -> None:
        card = {"brand": payment.card_brand, "bin": payment.card_bin, "last4": payment.card_last4}
        if amount is not None:
            self._refund_partial(payment, amount=amount, reference=reference, card=card)
            return
        body = callback_body(
            payment=payment, status="refunded", event_id=f"refund-{payment.pk}", card=card
        )
        # Called by the refund's outbox handler, in autocommit: the books and
        # the refund's callback commit together. Idempotent: a second run
        # queues the same event_id, which the merchant applies once.
        with transaction.atomic():
            now = timezone.now()
            refunded = SandboxCharge.objects.filter(payment_id=payment.pk).update(
                status=SandboxCharge.Status.REFUNDED, updated_at=now
            )
            if not refunded:  # charged before the books were in Postgres
                SandboxCharge.objects.create(
                    payment=payment, status=SandboxCharge.Status.REFUNDED, card=card
                )
            callback_schedule(body=body)

    def _refund_partial(
        self, payment: Payment, *, amount: Decimal, reference: str, card: dict[str, str]
    ) -> None:
        """Give back part of a charge: the books remember each reference, and
        never give back more than was charged (a ValueError: the outbox retries
        and finally gives up, loudly). Asked again for a reference, it only
        queues the same callback again (the merchant applies it once)."""
        if not reference or amount <= 0:
            raise ValueError("a partial refund needs a reference and a positive amount")
        with transaction.atomic():
            charge = SandboxCharge.objects.select_for_update().filter(payment_id=payment.pk).first()
            if charge is None or charge.status != SandboxCharge.Status.SUCCEEDED:
                raise ValueError(f"payment {payment.pk} has no charge to refund part of")
            if reference not in charge.partial_refunds:
                given = sum((Decimal(v) for v in charge.partial_refunds.values()), Decimal(0))
                if given + amount > payment.amount:
                    raise ValueError(f"refunds of {payment.pk} would pass what was charged")
                charge.partial_refunds[reference] = str(amount)
                charge.updated_at = timezone.now()
                charge.save(update_fields=["partial_refunds", "updated_at"])
            body = callback_body(
                payment=payment,
                status="refunded",
                event_id=f"refund-{payment.pk}-{reference}",
                card=card,
            )
            body |= {"amount": charge.partial_refunds[reference], "refund_id": reference}
            callback_schedule(body=body)

    def status_query(self, payment: Payment) -> ProviderStatus:
        """GET the gateway's status API over HTTP, signed (see STATUS_PATH)."""
        if transaction.get_connection().in_atomic_block:
            # Locks held across a network call stall every writer behind them.
            raise RuntimeError("status_query must not run inside a transaction")
        path = STATUS_PATH.format(payment_id=payment.pk)
        request = urllib.request.Request(  # noqa: S310 (our own SITE_URL, http/https)
            settings.SITE_URL + path,
            method="GET",
            headers={"Accept": "application/json", SIGNATURE_HEADER: sign(path.encode())},
        )
        try:
            with urllib.request.urlopen(request, timeout=STATUS_TIMEOUT_SECONDS) as response:  # noqa: S310
                data = json.loads(response.read())
            status = data["status"]
            if status not in ("created", "succeeded", "failed", "refunded"):
                raise ValueError(status)
            if str(data["payment_id"]) != str(payment.pk):
                raise ValueError("another payment's answer")
            card = data.get("card") or {}
            return ProviderStatus(
                payment_id=str(payment.pk),
                status=status,
                amount=Decimal(str(data["amount"])),
                currency=str(data["currency"]),
                card={k: str(card.get(k, ""))[:8] for k in ("brand", "bin", "last4")},
                reason=str(data.get("reason", ""))[:200],
            )
        except (OSError, ValueError, KeyError, TypeError, InvalidOperation, AttributeError) as exc:
            # urllib's HTTPError/URLError are OSErrors; a bad body is a ValueError.
            logger.warning("sandbox status query for %s failed: %s", payment.pk, exc)
            raise ProviderUnavailable(str(exc)) from exc
