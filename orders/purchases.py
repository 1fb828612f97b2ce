"""orders' answers to the waiting room's questions (queueing/purchases.py).

Registered from OrdersConfig.ready: queueing is below orders and never imports
it, so the rows of holds and orders are read here, where they live.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from django.db import connection
from django.db.models import Max

from orders.models import Order
from orders.services.holds import buyer_tickets_taken

# A UNION, not two counts: a buyer with a live hold and an order awaiting
# payment is one shopper.
_SHOPPERS_SQL = """
SELECT count(*) FROM (
  SELECT buyer_key FROM orders_hold
   WHERE event_id = %s AND status = 'active' AND expires_at > %s
  UNION
  SELECT buyer_key FROM orders_order
   WHERE event_id = %s AND status = 'pending_payment' AND expires_at > %s
) shopping
"""

# A refunded order was paid: the pass it ended stays ended.
_PAID = [Order.Status.PAID, Order.Status.REFUNDED]


class OrderPurchases:
    """queueing.purchases.Purchases, from orders' tables."""

    def tickets_taken(self, *, event_id: int, buyer_key: str) -> int:
        return buyer_tickets_taken(event_id=event_id, buyer_key=buyer_key)

    def paid_since(self, *, event_id: int, buyer_keys: Collection[str], since: datetime) -> bool:
        return Order.objects.filter(
            event_id=event_id,
            buyer_key__in=sorted(buyer_keys),
            status__in=_PAID,
            paid_at__gte=since,
        ).exists()

    def last_paid(self, *, event_id: int) -> dict[str, datetime]:
        return {
            row["buyer_key"]: row["at"]
            for row in Order.objects.filter(event_id=event_id, paid_at__isnull=False)
            .filter(status__in=_PAID)
            .values("buyer_key")
            .annotate(at=Max("paid_at"))
            .order_by()
        }

    def shoppers_count(self, *, event_id: int, now: datetime) -> int:
        with connection.cursor() as cursor:
            cursor.execute(_SHOPPERS_SQL, [event_id, now, event_id, now])
            return cursor.fetchone()[0]
