"""The `on_account` provider: in-app payment by a partner that charges its own
customer (a bank paying from the customer's account).

There is no acquirer and no buyer redirect: the partner's app confirms the
payment with a signed request (payments.api.PaymentConfirmApi), settled by
payments.services.payment_on_account_confirm through the callback's own code
path. A refund needs no outside call either (the partner gives the money
back itself, the settlement report says it is owed): `refund` completes it at
once as the `refunded` callback it stands in for.

The confirmation's signature is payments.signatures' (`Kassa-Signature`).
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from django.utils import timezone

from payments.exceptions import BadCallback, ProviderNotAllowed
from payments.providers import CallbackEvent, PaymentProvider, ProviderStatus
from payments.services import payment_callback_handle

if TYPE_CHECKING:
    from orders.models import Order
    from payments.models import Payment

NAME = "on_account"


class OnAccountProvider(PaymentProvider):
    name = NAME

    def order_check(self, order: Order) -> None:
        """Only an order of a partner channel whose partner has on-account payment."""
        partner = order.partner
        if (
            partner is None
            or order.channel != partner.channel
            or not (partner.on_account and partner.on_account_secret)
        ):
            raise ProviderNotAllowed(details={"provider": [NAME]})

    def create_payment(self, payment: Payment, return_url: str) -> str:
        # Nothing to register: the partner's app confirms. The order page is
        # where a person following the link sees the order.
        return return_url

    def verify_callback(self, request) -> CallbackEvent:
        # No provider calls back: the partner confirms at its own endpoint.
        raise BadCallback()

    def refund(self, payment: Payment, amount: Decimal | None = None, reference: str = "") -> None:
        partial = bool(reference) and amount is not None
        payment_callback_handle(
            provider=NAME,
            event=CallbackEvent(
                event_id=f"refund:{payment.pk}:{reference if partial else 'whole'}",
                payment_id=str(payment.pk),
                status="refunded",
                amount=amount if partial else payment.amount,
                currency=payment.currency,
                refund_id=reference if partial else "",
                payload={"source": "on_account_refund", "reference": reference},
            ),
        )

    def status_query(self, payment: Payment) -> ProviderStatus:
        """What reconciliation learns: nothing is charged until the partner
        confirms, so an order that can no longer be paid (expired, cancelled)
        has a failed payment; one still payable is still `created`."""
        order = payment.order
        payable = order.status == order.Status.PENDING_PAYMENT and order.expires_at > timezone.now()
        return ProviderStatus(
            payment_id=str(payment.pk),
            status="created" if payable else "failed",
            amount=payment.amount,
            currency=payment.currency,
            reason="" if payable else "not_confirmed",
        )
