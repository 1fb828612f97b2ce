from __future__ import annotations

from django.apps import AppConfig


class PartnersConfig(AppConfig):
    name = "partners"

    def ready(self) -> None:
        # The outbox handler and the in-transaction order receivers.
        from partners import receivers, tasks  # noqa: F401
