"""Reads for the buyer-facing payment and ticket pages/API."""

from __future__ import annotations

import hmac

from api.permissions import partner_key
from orders.models import Order, Payment, Ticket
from orders.payments.exceptions import OrderNotFound


def order_readable_by(order: Order, request, *, token: str | None) -> bool:
    """The order's buyer: its access token, its signed-in user, or the partner that made it."""
    if token and hmac.compare_digest(token, order.access_token):
        return True
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated and order.user_id == user.pk:
        return True
    key = partner_key(request) if hasattr(request, "auth") else None
    return key is not None and order.partner_id is not None and key.partner_id == order.partner_id


def order_for_buyer(request, *, token: str | None, pk: int | None = None, code: str | None = None):
    """The order if this request may see it, else OrderNotFound (never reveals existence)."""
    lookup = {"pk": pk} if pk is not None else {"code": code}
    order = Order.objects.select_related("event", "hold").filter(**lookup).first()
    if order is None or not order_readable_by(order, request, token=token):
        raise OrderNotFound()
    return order


# What describing a ticket's place reads (orders/_ticket_place.txt, tickets.ticket_describe).
TICKET_PLACE = ("event_seat__seat", "event_seat__section", "standing_area__section", "tier")


def order_tickets(order: Order):
    return order.tickets.select_related(*TICKET_PLACE).order_by("id")


def order_last_payment(order: Order) -> Payment | None:
    return order.payments.order_by("-created_at").first()


def ticket_for_order(order: Order, code: str) -> Ticket | None:
    return order.tickets.filter(code=code).first()
