"""Orders' signals, and what orders does when other apps announce something.

`order_paid` and `order_refunded` (pretix's `order_paid` is the model) let the
code that settles money announce an order's new state without knowing who
cares: the waiting room ends the buyer's pass, later mail or a partner hook.
They are sent only after the transaction that made the change commits
(order_announce), so a receiver never sees a paid order that is then rolled
back, and may do outside I/O (Redis, HTTP).
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.dispatch import Signal, receiver

from accounts.signals import identity_verified
from orders.models import Order
from orders.services.orders import order_attach_guest_orders
from queueing import services as queue_services

logger = logging.getLogger(__name__)

# Sent with `order` once the order is paid (its stock sold, its tickets issued).
order_paid = Signal()
# Sent with `order` once the order is refunded (staff, the provider, or money
# taken for stock that was lost): its tickets are void.
order_refunded = Signal()


def order_announce(*, signal: Signal, order: Order) -> None:
    """Send `signal` for `order` after the current transaction commits.

    Every receiver runs even if one fails (send_robust); a failure is logged
    with its traceback and changes nothing already committed.
    """

    def send() -> None:
        for receiver_fn, error in signal.send_robust(sender=Order, order=order):
            if isinstance(error, Exception):
                logger.error(
                    "order signal receiver %r failed for order %s",
                    receiver_fn,
                    order.pk,
                    exc_info=error,
                )

    transaction.on_commit(send, robust=True)


@receiver(order_paid, dispatch_uid="orders.end_queue_pass")
def end_queue_pass(sender: Any, *, order: Order, **kwargs: Any) -> None:
    """The buyer's waiting-room pass ends with their paid order: a slot frees.

    Connected here, not in queueing: queueing is the layer below orders and
    must not import it; the code that pays (payments, its own app next) sends
    order_paid and no longer imports queueing.
    """
    queue_services.pass_complete(event_id=order.event_id, buyer_key=order.buyer_key)


@receiver(identity_verified, dispatch_uid="orders.attach_guest_orders")
def attach_guest_orders(
    sender: Any, *, user: Any, email: str | None, phone: str | None, **kwargs: Any
) -> None:
    """A buyer proved this e-mail/phone: their guest orders with it become theirs."""
    order_attach_guest_orders(user=user, email=email, phone=phone)
