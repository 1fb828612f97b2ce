"""Request id: honour the caller's `X-Request-ID` or make one, log with it.
The one rule for who the client is (`client_ip`), and a 413 for bodies past
DATA_UPLOAD_MAX_MEMORY_SIZE (`RequestSizeLimitMiddleware`)."""

from __future__ import annotations

import re
import uuid

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpResponse, JsonResponse
from django.utils import translation
from django.utils.translation import gettext as _

from ticketing.logging import client_ip_var, request_id_var

# Accept only short, harmless ids from outside; anything else is replaced.
_VALID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def client_ip(request) -> str | None:
    """The caller's address, for per-IP throttles, the staff-login lockout and
    the logs: the one rule, used everywhere.

    Behind TRUSTED_PROXY_COUNT reverse proxies that each append the address
    they saw to X-Forwarded-For (nginx's $proxy_add_x_forwarded_for), the
    client is the TRUSTED_PROXY_COUNT-th address from the right: entries
    further left are whatever the client sent and cannot be trusted (rotating
    them walked past every per-IP limit). With 0 proxies, or a header shorter
    than the proxies that should have written it, it is REMOTE_ADDR.
    """
    count = settings.TRUSTED_PROXY_COUNT
    if count:
        hops = [h.strip() for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        hops = [h for h in hops if h]
        if len(hops) >= count:
            return hops[-count][:64]  # an address, not a payload: bounded for keys and logs
    return request.META.get("REMOTE_ADDR") or None


class RequestIdMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _VALID.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id
        token = request_id_var.set(request_id)
        ip_token = client_ip_var.set(client_ip(request))
        try:
            response = self.get_response(request)
        finally:
            client_ip_var.reset(ip_token)
            request_id_var.reset(token)
        response["X-Request-ID"] = request_id
        return response


def request_too_large(request) -> HttpResponse:
    """413: the API's error body under /api/, a plain sentence for pages; in the
    caller's language (this runs before LocaleMiddleware has chosen it)."""
    with translation.override(translation.get_language_from_request(request)):
        message = _("The request is too large.")
    if request.path.startswith("/api/"):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        body = {"error": {"code": "request_too_large", "message": message,
                          "details": {"max_bytes": [str(limit)]}}}  # fmt: skip
        return JsonResponse(body, status=413)
    return HttpResponse(message, status=413, content_type="text/plain; charset=utf-8")


class RequestSizeLimitMiddleware:
    """Refuse a body declared larger than DATA_UPLOAD_MAX_MEMORY_SIZE before
    anything reads it. Django itself raises RequestDataTooBig only when the
    body is read (in CSRF, a form, the API parser), which became a 400 page or,
    through the API's exception handler, a 500; it is a 413 in either case.
    A multipart body's files do not count against the limit (admin uploads),
    only its text fields: it is parsed here, as CSRF would do next."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if limit is None:
            return self.get_response(request)
        if request.content_type.startswith("multipart/"):
            # Not under /api/ (JSON only: DRF answers 415 without reading, and
            # an early parse would leave it an empty body to validate instead).
            if request.method == "POST" and not request.path.startswith("/api/"):
                try:
                    request.POST  # noqa: B018 - parsing is the point
                except RequestDataTooBig:
                    return request_too_large(request)
            return self.get_response(request)
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0  # Django reads a bad length as no body, so do we
        if length > limit:
            return request_too_large(request)
        return self.get_response(request)
