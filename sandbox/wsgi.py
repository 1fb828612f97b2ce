"""The sandbox acquirer as a process of its own: `gunicorn sandbox.wsgi`."""

from __future__ import annotations

import os

from django.core.wsgi import get_wsgi_application

# Not setdefault: a shell that exported kassa's settings module must not turn
# the acquirer into a second kassa.
os.environ["DJANGO_SETTINGS_MODULE"] = "sandbox.settings"

application = get_wsgi_application()
