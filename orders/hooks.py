"""What orders tells the apps above it *inside* the transaction that changes
an order's state.

`order_paid` / `order_refunded` (orders.signals) run after the commit, for
side effects that may be redone from Postgres (a Redis pass, say). Work that
must never be lost once the change commits (a partner's webhook) has to be
recorded in the same transaction: `order_recorded` is sent synchronously, at
the point of the change, and its receivers write rows (an outbox message)
that commit or roll back with it. Receivers must not do outside I/O and must
be cheap for orders nobody subscribes to (the web's own): they get the
`(order id, partner id)` pairs and skip the ones without a partner with no
query.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.dispatch import Signal

# Sent with `state` ("paid", "refunded", "expired", "partially_refunded"),
# `orders`, a list of (order id, partner id or None), and `details` (a
# JSON-able dict added to what receivers tell, e.g. the partial refund's
# amount and tickets), inside the deciding transaction.
order_recorded = Signal()


def order_record(
    *, state: str, orders: list[tuple[int, int | None]], details: dict[str, Any] | None = None
) -> None:
    """Tell the in-transaction receivers that these orders just became `state`."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("order_record must run inside the transaction that changes the order")
    if orders:
        order_recorded.send(sender=None, state=state, orders=orders, details=details or {})
