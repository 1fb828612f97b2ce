"""The Django ceiling (BENCH.md): a bare no-op view, no middleware, no database.

A self-contained WSGI app that needs nothing of kassa, served by the same
gunicorn settings as the real stack so `endpoint req/s / no-op req/s` compares
like with like:

    gunicorn bench.noop_app --config python:ticketing.gunicorn_conf --bind 127.0.0.1:8100
"""

from __future__ import annotations

from django.conf import settings
from django.http import JsonResponse
from django.urls import path

if not settings.configured:
    settings.configure(
        DEBUG=False,
        SECRET_KEY="bench-noop-not-secret",
        ALLOWED_HOSTS=["*"],
        ROOT_URLCONF=__name__,
        MIDDLEWARE=[],
        INSTALLED_APPS=[],
        DATABASES={},
        USE_I18N=False,
    )


def noop(request):
    return JsonResponse({"ok": True})


urlpatterns = [path("noop/", noop)]

from django.core.wsgi import get_wsgi_application  # noqa: E402 - needs settings first

application = get_wsgi_application()
