"""Reads of orders for their buyers' payment pages and API (the access rule is
orders.selectors.order_readable_by)."""

from __future__ import annotations

from decimal import Decimal

from orders.api.holds import hold_items
from orders.models import Order, Ticket
from orders.selectors import TICKET_PLACE
from payments.models import Payment


def order_tickets(order: Order):
    return order.tickets.select_related(*TICKET_PLACE).order_by("id")


def order_places(order: Order) -> list[dict]:
    """What an unpaid order is for: its hold's seats or standing places (section,
    row, seat or quantity, tier, price), listed where the buyer pays. Tickets,
    and so the order page's own list, exist only once it is paid."""
    if order.status != Order.Status.PENDING_PAYMENT:
        return []
    return hold_items(order.hold)


def order_refunded_amount(order: Order) -> Decimal:
    """What staff refunds gave back of this order so far (Refund rows)."""
    return sum(order.refunds.values_list("amount", flat=True), Decimal("0"))


def order_last_payment(order: Order) -> Payment | None:
    return order.payments.order_by("-created_at").first()


def ticket_for_order(order: Order, code: str) -> Ticket | None:
    return order.tickets.filter(code=code).first()
