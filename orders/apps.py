from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OrdersConfig(AppConfig):
    name = "orders"
    verbose_name = _("Orders")

    def ready(self) -> None:
        # Receivers of other apps' signals (accounts' identity_verified).
        from orders import signals  # noqa: F401
        from orders.purchases import OrderPurchases
        from queueing.purchases import purchases_register

        # The waiting room asks orders what buyers took and paid through this
        # (it sits below orders and may not import it).
        purchases_register(OrderPurchases())
