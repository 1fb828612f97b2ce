"""The payment provider interface and the registry of providers by name.

A real acquirer plugs in as another subclass registered under its own name;
services only ever talk to `provider_get(name)`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from payments.exceptions import UnknownProvider

if TYPE_CHECKING:
    from django.http import HttpRequest

    from orders.models import Order
    from payments.models import Payment


@dataclass(frozen=True)
class CallbackEvent:
    """A verified provider notification, in provider-neutral terms."""

    event_id: str
    payment_id: str
    status: str  # succeeded | failed | refunded
    amount: Decimal
    currency: str
    card: dict[str, str] = field(default_factory=dict)  # brand, bin, last4
    reason: str = ""
    payload: dict[str, Any] = field(default_factory=dict)
    # A `refunded` event of one partial refund: the merchant's reference (the
    # Refund id) given to PaymentProvider.refund; empty for a whole refund.
    refund_id: str = ""


@dataclass(frozen=True)
class ProviderStatus:
    """The provider's own answer about one payment (its status query)."""

    payment_id: str
    status: str  # created | succeeded | failed | refunded
    amount: Decimal
    currency: str
    card: dict[str, str] = field(default_factory=dict)  # brand, bin, last4
    reason: str = ""

    def as_callback_event(self) -> CallbackEvent:
        """The answer as the callback it stands in for, so settlement is the
        callback's own code path. The event id is derived from the payment and
        the status: two runs asking the same thing are one event (deduplicated
        like a callback sent twice)."""
        return CallbackEvent(
            event_id=f"reconcile:{self.payment_id}:{self.status}",
            payment_id=self.payment_id,
            status=self.status,
            amount=self.amount,
            currency=self.currency,
            card=dict(self.card),
            reason=self.reason,
            payload={
                "source": "status_query",
                "payment_id": self.payment_id,
                "status": self.status,
                "amount": str(self.amount),
                "currency": self.currency,
                "card": dict(self.card),
            },
        )


class PaymentProvider:
    name: ClassVar[str] = ""

    def order_check(self, order: Order) -> None:
        """Refuse (raise a KassaError) an order this provider may not pay.
        Called by payment_start under the order lock, before anything is made."""

    def reference_new(self) -> str:
        """The provider reference of a new payment when kassa makes it up (no
        network), stored with the payment's INSERT; "" (the default): the
        provider gives it in create_payment, stored by one UPDATE after."""
        return ""

    def create_payment(self, payment: Payment, return_url: str) -> str:
        """Register the payment with the provider; return where to send the buyer.

        Must not do network I/O inside the caller's transaction (the sandbox
        needs none; a real acquirer's call goes before the transaction)."""
        raise NotImplementedError

    def verify_callback(self, request: HttpRequest) -> CallbackEvent:
        """Check the request's signature and parse it; raise BadCallback if forged."""
        raise NotImplementedError

    def refund(self, payment: Payment, amount: Decimal | None = None, reference: str = "") -> None:
        """Ask the provider to return the money. Called outside any transaction;
        completion arrives as a `refunded` callback.

        `amount` None: all that is left of the payment (the callback carries
        the payment's amount). Otherwise a partial refund of `amount` under the
        merchant's `reference` (a Refund id), given back once per reference
        however often it is asked; its callback carries that amount and
        `refund_id` = the reference."""
        raise NotImplementedError

    def status_query(self, payment: Payment) -> ProviderStatus:
        """Ask the provider what became of the payment (reconciliation).

        Network I/O: called outside any transaction. Raises ProviderUnavailable
        when the provider cannot answer (the caller backs off and asks later)."""
        raise NotImplementedError


def provider_get(name: str) -> PaymentProvider:
    """The provider named `name` in settings.PAYMENT_PROVIDERS (name -> dotted
    path of a PaymentProvider class), built once per process. A real acquirer
    plugs in as one more entry: no import of it anywhere else."""
    try:
        return _provider(name, settings.PAYMENT_PROVIDERS[name])
    except KeyError:
        raise UnknownProvider(details={"provider": [name]}) from None


@functools.cache
def _provider(name: str, path: str) -> PaymentProvider:
    provider = import_string(path)()
    if provider.name != name:
        raise ImproperlyConfigured(f"PAYMENT_PROVIDERS[{name!r}] is a {provider.name!r} provider")
    return provider
