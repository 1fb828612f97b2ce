#!/usr/bin/env python
"""Django's command-line utility.

With DATABASE_URL / REDIS_URL unset it starts the same embedded PostgreSQL and
Redis as `make run` (ticketing/launcher.py) for the command's duration.
"""

import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ticketing.settings")
    from django.core.management import execute_from_command_line

    services = None
    if not (os.environ.get("DATABASE_URL") and os.environ.get("REDIS_URL")):
        from ticketing.launcher import ensure_services

        services = ensure_services()
    try:
        execute_from_command_line(sys.argv)
    finally:
        if services is not None:
            services.stop()
