"""kassa's adapter for the sandbox acquirer (sandbox/): the merchant's side of
its HTTP protocol, and nothing of the gateway itself.

- Payment start: no call at all. The buyer's browser goes to the gateway with
  a payment link: the payment (id, amount, currency, return and callback URLs,
  the sale phase's card restriction) signed with the shared secret (Django's
  signing, salt LINK_SALT), as hosted payment pages take it.
- Callbacks: the gateway POSTs JSON to CALLBACK_PATH, signed in the
  `X-Sandbox-Signature: sha256=<hex HMAC-SHA256 of the body>` header.
- Status query (reconciliation): GET STATUS_PATH, signed over the path (a GET
  has no body), so a signature for one payment never reads another.
- Refund: POST REFUND_PATH `{"refund_id", "amount"}`, signed over the body;
  the money's return arrives as a `refunded` callback.

The gateway lives at SANDBOX_URL (its own process), else at SITE_URL (served
by kassa's process, `make run`'s default); the calls go over HTTP either way.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
import uuid
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.utils.translation import gettext as _

from events.cards import card_rule_words
from payments.exceptions import BadCallback, ProviderUnavailable
from payments.providers import CallbackEvent, PaymentProvider, ProviderStatus
from ticketing.signing import hmac_sign, hmac_valid, shared_secret

if TYPE_CHECKING:
    from django.http import HttpRequest

    from payments.models import Payment

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Sandbox-Signature"
CALLBACK_PATH = "/api/v1/payments/sandbox/callback/"
PAY_PATH = "/sandbox-gateway/pay/{payment_id}/"
STATUS_PATH = "/sandbox-gateway/api/payments/{payment_id}/"
REFUND_PATH = "/sandbox-gateway/api/payments/{payment_id}/refunds/"
LINK_SALT = "sandbox.payment-link"
TIMEOUT_SECONDS = 10


def _secret() -> bytes:
    return shared_secret("SANDBOX_GATEWAY_SECRET", b"kassa-sandbox-gateway")


def sign(data: bytes) -> str:
    return hmac_sign(_secret(), data)


def gateway_url() -> str:
    return (settings.SANDBOX_URL or settings.SITE_URL).rstrip("/")


def _absolute(url: str) -> str:
    return url if "://" in url else settings.SITE_URL.rstrip("/") + url


def _call(method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
    """One signed request to the gateway: (status, JSON body or None)."""
    raw = None if body is None else json.dumps(body, separators=(",", ":")).encode()
    headers = {"Accept": "application/json", SIGNATURE_HEADER: sign(raw or path.encode())}
    if raw is not None:
        headers["Content-Type"] = "application/json"
    return _http(method, path, raw, headers)


def _http(method: str, path: str, raw: bytes | None, headers: dict[str, str]) -> tuple[int, Any]:
    """The request over the network. Never inside a transaction: locks held
    across a network call stall every writer behind them."""
    if transaction.get_connection().in_atomic_block:
        raise RuntimeError("the sandbox gateway is not called inside a transaction")
    request = urllib.request.Request(  # noqa: S310 (SANDBOX_URL / SITE_URL, http/https)
        gateway_url() + path, data=raw, method=method, headers=headers
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        try:
            return exc.code, json.loads(exc.read())
        except ValueError:
            return exc.code, None
    except (OSError, ValueError) as exc:
        logger.warning("sandbox gateway %s %s failed: %s", method, path, exc)
        raise ProviderUnavailable(str(exc)) from exc


class SandboxProvider(PaymentProvider):
    name = "sandbox"

    def reference_new(self) -> str:
        return "sbx_" + uuid.uuid4().hex[:20]

    def create_payment(self, payment: Payment, return_url: str) -> str:
        if not payment.provider_ref:
            payment.provider_ref = self.reference_new()
        order = payment.order
        phase = order.phase
        brands, bins = list(phase.card_brands), list(phase.card_bin_prefixes)
        link = {
            "id": str(payment.pk),
            "merchant": "kassa",
            "description": _("order %(code)s") % {"code": order.code},
            "amount": str(payment.amount),
            "currency": payment.currency,
            "return_url": _absolute(return_url),
            "callback_url": _absolute(CALLBACK_PATH),
            "brands": brands,
            "bins": bins,
            "note": card_rule_words(brands=brands, bins=bins) if brands or bins else "",
        }
        token = signing.dumps(link, key=_secret().hex(), salt=LINK_SALT, compress=True)
        return gateway_url() + PAY_PATH.format(payment_id=payment.pk) + "?p=" + token

    def verify_callback(self, request: HttpRequest) -> CallbackEvent:
        body = request.body
        if not hmac_valid(_secret(), body, request.headers.get(SIGNATURE_HEADER)):
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
        """Ask for money back: all that is left (`amount` None; the refund's id
        is the payment's, its callback event `refund-<payment id>`), or part of
        it under the merchant's `reference` (a Refund id; the callback carries
        it as `refund_id`). Idempotent: the outbox asking again is the same
        refund. A refund the gateway refuses (more than is left, a payment it
        never charged) raises, and the outbox retries and finally gives up,
        loudly."""
        body: dict[str, Any] = {"refund_id": str(payment.pk), "amount": None}
        if amount is not None:
            if not reference or amount <= 0:
                raise ValueError("a partial refund needs a reference and a positive amount")
            body = {
                "refund_id": f"{payment.pk}-{reference}",
                "amount": str(amount),
                "reference": reference,
            }
        status, data = _call("POST", REFUND_PATH.format(payment_id=payment.pk), body)
        if status != 200:
            raise ProviderUnavailable(f"refund answered {status}: {data}")

    def status_query(self, payment: Payment) -> ProviderStatus:
        """GET the gateway's status API (see STATUS_PATH)."""
        status, data = _call("GET", STATUS_PATH.format(payment_id=payment.pk))
        try:
            if status != 200:
                raise ValueError(f"status query answered {status}")
            answer = data["status"]
            if answer not in ("created", "succeeded", "failed", "refunded"):
                raise ValueError(answer)
            if str(data["payment_id"]) != str(payment.pk):
                raise ValueError("another payment's answer")
            card = data.get("card") or {}
            return ProviderStatus(
                payment_id=str(payment.pk),
                status=answer,
                # A link never opened: the gateway knows no amount; nothing was charged.
                amount=Decimal(str(data.get("amount") or payment.amount)),
                currency=str(data.get("currency") or payment.currency),
                card={k: str(card.get(k, ""))[:8] for k in ("brand", "bin", "last4")},
                reason=str(data.get("reason", ""))[:200],
            )
        except (ValueError, KeyError, TypeError, InvalidOperation, AttributeError) as exc:
            logger.warning("sandbox status query for %s failed: %s", payment.pk, exc)
            raise ProviderUnavailable(str(exc)) from exc
