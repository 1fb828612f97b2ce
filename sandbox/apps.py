from __future__ import annotations

from django.apps import AppConfig
from django.conf import settings


class SandboxConfig(AppConfig):
    name = "sandbox"
    label = "sandbox"
    verbose_name = "Sandbox acquirer"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Only a process that serves the gateway delivers its callbacks: with
        # the gateway in a process of its own (SANDBOX_URL set), kassa's
        # workers leave its outbox messages to that process.
        if settings.SANDBOX_SERVES:
            from sandbox import outbox  # noqa: F401 - registers the handler
