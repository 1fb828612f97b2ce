"""Buyer pages: start payment, wait for the callback, order page with tickets."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from accounts.selectors import buyer_identity
from orders.exceptions import OrderNotFound
from orders.models import Order
from orders.selectors import (
    buyer_may_refund,
    buyer_refund_until,
    order_for_buyer,
    order_return_link,
)
from orders.tickets import qr_svg, rotating_qr_enabled, ticket_describe, ticket_qr_content
from payments import selectors
from payments.models import Payment
from payments.services import order_refund_by_buyer, payment_start
from ticketing.errors import KassaError


def _order(request, code: str) -> Order:
    try:
        return order_for_buyer(
            request, token=request.GET.get("t") or request.POST.get("t"), code=code
        )
    except OrderNotFound as exc:
        raise Http404(exc.message) from exc


@require_http_methods(["GET", "POST"])
def pay_start(request, code: str):
    order = _order(request, code)
    if request.method == "GET" or order.status != Order.Status.PENDING_PAYMENT:
        context = {"order": order, "places": selectors.order_places(order)}
        return render(request, "orders/pay_start.html", context)
    try:
        _payment, redirect_url = payment_start(order=order, actor_user=request.user)
    except KassaError as exc:
        context = {"order": order, "places": selectors.order_places(order), "error": exc.message}
        return render(request, "orders/pay_start.html", context, status=exc.status)
    return HttpResponseRedirect(redirect_url, status=303)


@require_GET
def order_return(request, code: str):
    """Where the gateway sends the buyer back: waits (refresh) until the callback lands."""
    order = _order(request, code)
    payment = selectors.order_last_payment(order)
    if order.status == Order.Status.PENDING_PAYMENT and (
        payment is not None and payment.status != Payment.Status.CREATED
    ):
        # The callback settles the payment and the order in one transaction; it
        # may have committed between our two reads (the order read pending, the
        # payment already settled), and the buyer would be offered "pay again"
        # for a paid order. The payment was read second, so the order is re-read.
        order.refresh_from_db(fields=["status"])
    waiting = order.status == Order.Status.PENDING_PAYMENT and (
        payment is not None and payment.status == Payment.Status.CREATED
    )
    if not waiting and order.status != Order.Status.PENDING_PAYMENT:
        return HttpResponseRedirect(f"/orders/{order.code}/?t={order.access_token}")
    places = [] if waiting else selectors.order_places(order)
    context = {"order": order, "payment": payment, "waiting": waiting, "places": places}
    return render(request, "orders/pay_return.html", context)


@require_GET
def order_page(request, code: str):
    order = _order(request, code)
    tickets = [
        {"ticket": ticket, **ticket_describe(ticket)} for ticket in selectors.order_tickets(order)
    ]
    return render(
        request,
        "orders/order_page.html",
        {
            "order": order,
            "tickets": tickets,
            "places": selectors.order_places(order),
            "refunded": selectors.order_refunded_amount(order),
            "token": order.access_token,
            "rotating": rotating_qr_enabled(),
            "refund_until": buyer_refund_until(order),
            "may_refund": buyer_may_refund(order, request.user),
            "now": timezone.now(),
            "app_link": order_return_link(order=order, buyer=buyer_identity(request)),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def order_refund_page(request, code: str):
    """The buyer's own refund: a confirmation page (what comes back, until
    when), then the POST that refunds. Past the cut-off the page says so and
    a POST is refused with the same message."""
    order = Order.objects.select_related("event__venue").filter(code=code).first()
    if order is None or order.user_id != request.user.pk:
        raise Http404
    context = {
        "order": order,
        "until": buyer_refund_until(order),
        "allowed": buyer_may_refund(order, request.user),
        "amount": order.total - selectors.order_refunded_amount(order),
    }
    if request.method == "POST":
        try:
            order_refund_by_buyer(order=order, user=request.user)
        except KassaError as exc:
            context.update(allowed=False, error=exc.message)
            return render(request, "payments/buyer_refund.html", context, status=exc.status)
        messages.success(request, _("Your order is refunded; the money goes back to your card."))
        return HttpResponseRedirect(order.get_absolute_url(), status=303)
    return render(request, "payments/buyer_refund.html", context)


@require_GET
def ticket_qr(request, code: str, ticket_code: str):
    order = _order(request, code)
    ticket = selectors.ticket_for_order(order, ticket_code)
    if ticket is None or order.status != Order.Status.PAID:
        raise Http404
    response = HttpResponse(qr_svg(ticket_qr_content(ticket)), content_type="image/svg+xml")
    # A static code never changes; a rotating one changes every 30 s.
    rotating = rotating_qr_enabled() and ticket.totp_secret
    response["Cache-Control"] = "no-store" if rotating else "private, max-age=86400"
    return response
