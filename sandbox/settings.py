"""Settings of the sandbox acquirer run as a process of its own.

    DJANGO_SETTINGS_MODULE=sandbox.settings gunicorn ticketing.wsgi   # its pages and API
    DJANGO_SETTINGS_MODULE=sandbox.settings python manage.py outbox_work --kind sandbox.callback

The same environment as kassa's (the database holds the gateway's own tables
too, and the shared secret is derived from the same SECRET_KEY unless
SANDBOX_GATEWAY_SECRET is set); it serves only the gateway's URLs and delivers
only the gateway's callbacks, with no Celery: `outbox_work` polls its outbox.
"""

from __future__ import annotations

from ticketing.settings import *  # noqa: F403

ROOT_URLCONF = "sandbox.urls_standalone"
SANDBOX_SERVES = True
SANDBOX_URL = ""
# No Celery in this process: its deliverer (outbox_work) polls, due at once.
OUTBOX_FAST_PATH = False
OUTBOX_GRACE_SECONDS = 0
