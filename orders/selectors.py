"""Reads of orders: the one access rule for every read of an order, and the
signed-in buyer's orders. Payments' pages and API read orders through these."""

from __future__ import annotations

import hmac
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count, Prefetch, QuerySet
from django.db.models.fields.json import KeyTextTransform
from django.utils import timezone

from accounts.selectors import Buyer, buyer_identity
from events.models import Event
from orders.exceptions import OrderNotFound
from orders.models import Order, Ticket
from ticketing.audit import AuditAction
from ticketing.models import AuditEntry


def order_readable_by(*, order: Order, buyer: Buyer, token: str | None) -> bool:
    """THE rule for every read of an order: its pages (order, pay, return), its
    tickets and QR images, and the API's order, payment and ticket reads.

    Readable by the order's token (the e-mail link), the signed-in account that
    owns it, the partner whose key made it, or the device buyer that made it
    (the buyer identity its hold was taken with, accounts.selectors.
    buyer_identity): a guest goes from checkout to payment on the same device
    without a token in the URL. Nobody else: another guest, another account,
    another partner.
    """
    # Bytes: compare_digest refuses a str with non-ASCII characters (TypeError).
    if token and hmac.compare_digest(token.encode(), order.access_token.encode()):
        return True
    if buyer.partner_customer:
        # A partner's customer in its webview: their own orders at that partner.
        return order.partner_id == buyer.partner_id and order.buyer_key == buyer.key
    if buyer.partner_id is not None:
        return order.partner_id == buyer.partner_id
    if buyer.user_id is not None:
        return order.user_id == buyer.user_id
    # A device key ("device:<signed id>") matches only orders made on that device.
    return order.buyer_key == buyer.key


def order_return_link(*, order: Order, buyer: Buyer) -> str:
    """The partner app's return link for this order (`bankapp://kassa/orders/
    <code>`), when the buyer is that partner's customer in its webview and the
    partner configured one; else "". The link comes from admin, never from the
    request, so it cannot be turned into an open redirect."""
    if not buyer.partner_customer or order.partner_id != buyer.partner_id:
        return ""
    partner = order.partner
    if not partner.webview_enabled or not partner.is_active:
        return ""
    return partner.return_link(code=order.code)


def order_for_buyer(request, *, token: str | None, pk: int | None = None, code: str | None = None):
    """The order if this request may read it (order_readable_by), else
    OrderNotFound: a refusal looks exactly like a missing order."""
    lookup = {"pk": pk} if pk is not None else {"code": code}
    order = Order.objects.select_related("event", "hold").filter(**lookup).first()
    if order is None or not order_readable_by(
        order=order, buyer=buyer_identity(request), token=token
    ):
        raise OrderNotFound()
    return order


# What describing a ticket's place reads (orders/_ticket_place.txt, tickets.ticket_describe).
TICKET_PLACE = (
    "event_seat__seat",
    "event_seat__section",
    "standing_area__section",
    "tier",
    "ticket_type",
)


def buyer_refund_until(order: Order) -> datetime | None:
    """Until when the buyer may refund this order themselves: the event's
    refund_cutoff_minutes before its start; None when the event allows no
    buyer refunds (only staff refund)."""
    minutes = order.event.refund_cutoff_minutes
    if minutes is None:
        return None
    return order.event.starts_at - timedelta(minutes=minutes)


def buyer_may_refund(order: Order, user, *, now: datetime | None = None) -> bool:
    """Whether `user` sees the refund button: their own paid order of an event
    that allows buyer refunds, before the cut-off (payments.services.order_refund_by_buyer
    checks the same under the order lock)."""
    until = buyer_refund_until(order)
    return (
        until is not None
        and getattr(user, "is_authenticated", False)
        and order.user_id == user.pk
        and order.status == Order.Status.PAID
        and (now or timezone.now()) < until
    )


def orders_for_user(user) -> QuerySet:
    """The signed-in buyer's orders, newest first, with event and tickets loaded.

    Orders across channels count as long as they are linked to the account
    (`Order.user`); attaching guest orders by verified e-mail/phone is done
    at sign-in by the orders side.
    """
    if user is None or not user.is_authenticated:
        return Order.objects.none()
    tickets = Prefetch(
        "tickets", queryset=Ticket.objects.select_related(*TICKET_PLACE).order_by("id")
    )
    return (
        Order.objects.filter(user=user)
        .select_related("event__venue")
        .prefetch_related(tickets)
        .order_by("-created_at", "-id")
    )


def gate_counts(*, event: Event) -> dict[str, Any]:
    """Per gate of `event`: tickets let in there, and supervisor overrides there;
    with the event's totals. Served by ticket_used_gate_idx."""
    admitted = dict(
        Ticket.objects.filter(event=event, status=Ticket.Status.USED)
        .values_list("used_gate")
        .annotate(n=Count("id"))
        .values_list("used_gate", "n")
    )
    overrides = dict(
        AuditEntry.objects.filter(
            action=AuditAction.TICKET_CHECKIN_OVERRIDDEN, data__event=event.pk
        )
        .annotate(gate=KeyTextTransform("gate", "data"))
        .values_list("gate")
        .annotate(n=Count("id"))
        .values_list("gate", "n")
    )
    gates = sorted(set(admitted) | set(overrides), key=lambda g: (g == "", g.casefold()))
    return {
        "gates": [
            {"gate": g, "admitted": admitted.get(g, 0), "overrides": overrides.get(g, 0)}
            for g in gates
        ],
        "admitted": sum(admitted.values()),
        "tickets": Ticket.objects.filter(event=event).exclude(status=Ticket.Status.VOID).count(),
    }
