from __future__ import annotations

from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "payments"
    label = "payments"

    def ready(self) -> None:
        # The outbox handlers of payments (refunds, callbacks, ticket mail):
        # every process that runs the outbox sweep must know them.
        from payments import outbox  # noqa: F401
