"""The payment provider interface and the registry of providers by name.

A real acquirer plugs in as another subclass registered under its own name;
services only ever talk to `provider_get(name)`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar

from orders.payments.exceptions import UnknownProvider

if TYPE_CHECKING:
    from django.http import HttpRequest

    from orders.models import Payment


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


class PaymentProvider:
    name: ClassVar[str] = ""

    def create_payment(self, payment: Payment, return_url: str) -> str:
        """Register the payment with the provider; return where to send the buyer.

        Must not do network I/O inside the caller's transaction (the sandbox
        needs none; a real acquirer's call goes before the transaction)."""
        raise NotImplementedError

    def verify_callback(self, request: HttpRequest) -> CallbackEvent:
        """Check the request's signature and parse it; raise BadCallback if forged."""
        raise NotImplementedError

    def refund(self, payment: Payment) -> None:
        """Ask the provider to return the money. Called outside any transaction;
        completion arrives as a `refunded` callback."""
        raise NotImplementedError


_registry: dict[str, PaymentProvider] = {}


def provider_register(provider: PaymentProvider) -> PaymentProvider:
    _registry[provider.name] = provider
    return provider


def provider_get(name: str) -> PaymentProvider:
    # The sandbox registers itself on import; importing here avoids a cycle.
    from orders.payments import sandbox  # noqa: F401

    try:
        return _registry[name]
    except KeyError:
        raise UnknownProvider(details={"provider": [name]}) from None
