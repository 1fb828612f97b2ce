"""What the waiting room asks about purchases, without importing orders.

orders sits above queueing (DESIGN.md, layers): orders sells and ends passes,
queueing only needs a few answers about what buyers took and paid. This
module names those questions (`Purchases`) and keeps the one answerer, which
orders registers from its AppConfig.ready (orders/purchases.py). Each answer
is one query, the same the waiting room ran itself before, so the hot paths'
query budgets are unchanged.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Protocol

from django.core.exceptions import ImproperlyConfigured


class Purchases(Protocol):
    def tickets_taken(self, *, event_id: int, buyer_key: str) -> int:
        """Tickets counting against the buyer's per-buyer limit now: live
        holds, orders awaiting payment and paid orders (one query, no lock)."""
        ...

    def paid_since(self, *, event_id: int, buyer_keys: Collection[str], since: datetime) -> bool:
        """Has one of the buyers an order of the event paid at or after
        `since` (paid, or paid and refunded since)? One indexed query."""
        ...

    def last_paid(self, *, event_id: int) -> dict[str, datetime]:
        """buyer key -> the latest paid_at of their orders of the event (paid,
        or paid and refunded since). One aggregate query."""
        ...

    def shoppers_count(self, *, event_id: int, now: datetime) -> int:
        """Distinct buyers with a hold live at `now` or an order awaiting
        payment and not lapsed at `now`. One aggregate query."""
        ...


# A dict rather than a global statement: one slot, filled once per process.
_registry: dict[str, Purchases] = {}


def purchases_register(purchases: Purchases) -> None:
    """Called by orders' AppConfig.ready; registering again replaces it."""
    _registry["purchases"] = purchases


def purchases() -> Purchases:
    try:
        return _registry["purchases"]
    except KeyError:
        raise ImproperlyConfigured(
            "queueing needs orders' purchases: is orders in INSTALLED_APPS?"
        ) from None
