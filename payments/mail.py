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
