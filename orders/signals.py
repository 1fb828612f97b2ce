"""What orders does when other apps announce something (they do not import orders)."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from accounts.signals import identity_verified
from orders.services.orders import order_attach_guest_orders


@receiver(identity_verified, dispatch_uid="orders.attach_guest_orders")
def attach_guest_orders(
    sender: Any, *, user: Any, email: str | None, phone: str | None, **kwargs: Any
) -> None:
    """A buyer proved this e-mail/phone: their guest orders with it become theirs."""
    order_attach_guest_orders(user=user, email=email, phone=phone)
