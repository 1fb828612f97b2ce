"""The confirmation e-mail (HTML + text) with the order link."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _

from orders.models import Order
from payments.models import Refund
from payments.selectors import order_tickets


def order_confirmation_send(*, order_id: int) -> None:
    order = Order.objects.select_related("event__venue").get(pk=order_id)
    if order.status != Order.Status.PAID:
        return
    context = {
        "order": order,
        "order_url": settings.SITE_URL + order.get_absolute_url(),
        "tickets": order_tickets(order),
    }
    with translation.override(order.language):
        subject = _("Your tickets: %(event)s (order %(code)s)") % {
            "event": order.event.title,
            "code": order.code,
        }
        text = render_to_string("orders/tickets_email.txt", context)
        html = render_to_string("orders/tickets_email.html", context)
    message = EmailMultiAlternatives(subject, text, to=[order.email])
    message.attach_alternative(html, "text/html")
    message.send()


def refund_mail_send(*, refund_id: int) -> None:
    """The buyer's refund e-mail, in the language the order was made in: how
    much, which tickets (no longer valid), why, and, for a partial refund, the
    link to the tickets that stay valid."""
    refund = Refund.objects.select_related("order__event__venue", "payment").get(pk=refund_id)
    order = refund.order
    context = {
        "order": order,
        "refund": refund,
        "last4": refund.payment.card_last4,
        "order_url": settings.SITE_URL + order.get_absolute_url(),
        "tickets": order_tickets(order).filter(pk__in=refund.ticket_ids),
    }
    with translation.override(order.language):
        subject = _("Refund for your order %(code)s: %(event)s") % {
            "event": order.event.title,
            "code": order.code,
        }
        text = render_to_string("payments/refund_email.txt", context)
        html = render_to_string("payments/refund_email.html", context)
    message = EmailMultiAlternatives(subject, text, to=[order.email])
    message.attach_alternative(html, "text/html")
    message.send()


def cancellation_mail_send(*, order_id: int, reason: str, refund_id: int | None = None) -> None:
    """The buyer's "event cancelled" e-mail, in the language the order was made
    in: the event and its date in its own zone, the reason, and either the
    amount coming back (a paid order) or that nothing was charged."""
    order = Order.objects.select_related("event__venue").get(pk=order_id)
    refund = (
        Refund.objects.select_related("payment").filter(pk=refund_id).first() if refund_id else None
    )
    event = order.event
    context = {
        "order": order,
        "event": event,
        "refund": refund,
        "last4": refund.payment.card_last4 if refund else "",
        "reason": reason,
        "order_url": settings.SITE_URL + order.get_absolute_url(),
    }
    with translation.override(order.language):
        subject = _("Cancelled: %(event)s (order %(code)s)") % {
            "event": event.title,
            "code": order.code,
        }
        text = render_to_string("payments/cancellation_email.txt", context)
        html = render_to_string("payments/cancellation_email.html", context)
    message = EmailMultiAlternatives(subject, text, to=[order.email])
    message.attach_alternative(html, "text/html")
    message.send()
