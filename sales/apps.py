from __future__ import annotations

import atexit

from django.apps import AppConfig


class SalesConfig(AppConfig):
    name = "sales"

    def ready(self) -> None:
        from sales import rollup

        # A worker that stops (gunicorn's graceful exit, the launcher's Ctrl-C)
        # writes what it counted since its last flush.
        atexit.register(rollup.flush_at_exit)
