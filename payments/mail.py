"""The confirmation e-mail (HTML + text) with the order link."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _

from orders.models import Order
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
