"""Operational endpoints: liveness and readiness; the staff-login lockout answer; the
branded 400 page and /favicon.ico."""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import connections
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django_redis import get_redis_connection

logger = logging.getLogger(__name__)


def _check_postgres() -> None:
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT 1")


def _check_redis() -> None:
    get_redis_connection("default").ping()


CHECKS = {"postgres": _check_postgres, "redis": _check_redis}


@never_cache
def healthz(request):
    """The process is up and serving; says nothing about its dependencies."""
    return JsonResponse({"status": "ok"})


@never_cache
def readyz(request):
    """Postgres and Redis both answer; 503 naming the ones that do not."""
    checks: dict[str, str] = {}
    for name, check in CHECKS.items():
        try:
            check()
            checks[name] = "ok"
        except Exception as exc:  # any failure of a dependency means "not ready"
            logger.warning("readiness check failed", extra={"check": name, "error": str(exc)})
            checks[name] = "unavailable"
    failed = sorted(name for name, state in checks.items() if state != "ok")
    body = {"status": "unavailable" if failed else "ok", "checks": checks, "failed": failed}
    return JsonResponse(body, status=503 if failed else 200)


def staff_login_locked_out(request, original_response=None, credentials=None):
    """django-axes' answer (AXES_LOCKOUT_CALLABLE) once a username at an address
    has failed too often: 429 with when to try again, in the visitor's language."""
    seconds = int(settings.AXES_COOLOFF_TIME.total_seconds())
    message = _("Too many failed sign-in attempts. Try again in %(minutes)s min.") % {
        "minutes": max(1, seconds // 60)
    }
    response = HttpResponse(message, status=429, content_type="text/plain; charset=utf-8")
    response["Retry-After"] = str(seconds)
    return response


def bad_request(request, exception):
    """handler400: the branded page with the site's header, in the visitor's language.

    Django's default renders 400.html without the request (no header links
    that depend on the visitor); this one renders it like every other page.
    """
    return render(request, "400.html", status=400)


_FAVICON: bytes | None = None  # read once from static/, see favicon()


def favicon(request):
    """`/favicon.ico`, which browsers ask for on every page whatever the <link> says.

    Served directly (not a redirect to the hashed static URL, which a
    browser would cache past the next deploy).
    """
    global _FAVICON
    if _FAVICON is None:
        _FAVICON = (settings.BASE_DIR / "static" / "favicon.ico").read_bytes()
    response = HttpResponse(_FAVICON, content_type="image/x-icon")
    response["Cache-Control"] = "public, max-age=86400"
    return response
