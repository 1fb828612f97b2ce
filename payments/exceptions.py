"""Errors of payments. An order that does not exist or cannot be cancelled is
orders' own error (orders.exceptions.OrderNotFound, OrderNotCancellable): one
class per code, so a handler catching one catches every raise of it."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from ticketing.errors import KassaError


class OrderNotPayable(KassaError):
    code = "order_not_payable"
    status = 409
    default_message = _("This order cannot be paid any more.")


class OrderExpired(KassaError):
    code = "order_expired"
    status = 410
    default_message = _("The time to pay for this order has run out.")


class OrderNotRefundable(KassaError):
    code = "order_not_refundable"
    status = 409
    default_message = _("Only paid orders can be refunded.")


class BuyerRefundClosed(KassaError):
    code = "refund_closed"
    status = 409
    default_message = _(
        "Refunds of this order are closed: the time to refund before the start has passed."
    )


class BuyerRefundNotAllowed(KassaError):
    code = "refund_not_allowed"
    status = 403
    default_message = _(
        "This event's tickets cannot be refunded online; please contact the organiser."
    )


class UnknownProvider(KassaError):
    code = "unknown_provider"
    status = 400
    default_message = _("Unknown payment provider.")


class BadCallback(KassaError):
    """Unsigned, wrongly signed or malformed provider callback: nothing changes."""

    code = "bad_callback"
    status = 400
    default_message = _("The callback is not valid.")


class PaymentNotFound(KassaError):
    code = "payment_not_found"
    status = 404
    default_message = _("Payment not found.")


class TicketsNotReady(KassaError):
    code = "tickets_not_ready"
    status = 409
    default_message = _("Tickets are issued once the order is paid.")


class ProviderUnavailable(Exception):
    """The provider's status query failed (network, non-2xx, garbage): ask later.

    Not a KassaError: it never reaches a client, only reconciliation."""


class RefundInvalid(KassaError):
    """A staff refund asked for tickets that are not this order's or are refunded
    already, for more than was paid, or without a reason: nothing changes."""

    code = "refund_invalid"
    status = 400
    default_message = _("This refund cannot be made as asked.")


class ProviderNotAllowed(KassaError):
    """The on-account provider for an order of no partner, or of a partner
    without on-account payment: nothing is created."""

    code = "provider_not_allowed"
    status = 403
    default_message = _("This payment provider is not available for this order.")


class BadConfirmation(KassaError):
    """An on-account confirmation unsigned, wrongly signed, of another
    partner's order or payment, or malformed: nothing changes."""

    code = "bad_confirmation"
    status = 400
    default_message = _("The payment confirmation is not valid.")


class ConfirmationMismatch(KassaError):
    """A confirmation whose amount or currency is not the payment's, or whose
    reference already confirmed another payment: nothing changes."""

    code = "confirmation_mismatch"
    status = 409
    default_message = _("The confirmation does not match this payment.")


class CancelInvalid(KassaError):
    """An event cancellation without a reason (the buyers' e-mail says why): nothing changes."""

    code = "cancel_invalid"
    status = 400
    default_message = _("Say why the event is cancelled: the buyers are told.")
