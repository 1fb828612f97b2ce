from __future__ import annotations

from django.apps import AppConfig


class QueueingConfig(AppConfig):
    name = "queueing"

    def ready(self) -> None:
        from queueing import signals  # noqa: F401 - connects the sign-in hand-over
