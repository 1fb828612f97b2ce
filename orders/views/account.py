"""The signed-in buyer's "my tickets" page (its URL, /account/tickets/, is
the account's; the orders are this app's, so the page lives here)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from orders.selectors import buyer_may_refund, orders_for_user


@login_required
def my_tickets(request):
    orders = list(orders_for_user(request.user))
    for order in orders:
        order.may_refund = buyer_may_refund(order, request.user)
    return render(request, "orders/my_tickets.html", {"orders": orders})
