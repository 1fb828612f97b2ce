from __future__ import annotations

from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"

    def ready(self) -> None:
        # The outbox handlers of payments (refunds, callbacks, ticket mail):
        # every process that runs the outbox sweep must know them.
        # Receivers of other apps' signals (accounts' identity_verified).
        from orders import signals  # noqa: F401
        from orders.payments import outbox  # noqa: F401
