from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PaymentsConfig(AppConfig):
    name = "payments"
    verbose_name = _("Payments")
    label = "payments"

    def ready(self) -> None:
        # The outbox handlers of payments (refunds, callbacks, ticket mail):
        # every process that runs the outbox sweep must know them.
        from payments import outbox  # noqa: F401
