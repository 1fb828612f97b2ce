"""One JSON error body for every API error (see API.md):
`{"error": {"code": "...", "message": "...", "details": {...}}}`.

`exception_handler` is DRF's EXCEPTION_HANDLER; `api_not_found` / `api_server_error`
give the same body for what never reaches a DRF view (an unknown URL under
/api/, a crash in middleware). The API's own application errors are at the end.
"""

from __future__ import annotations

import logging
import math
import sys

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.http import Http404, JsonResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

from ticketing.errors import KassaError, ServiceUnavailable, backend_down
from ticketing.middleware import request_too_large

logger = logging.getLogger(__name__)

API_PREFIX = "/api/"


def error_body(code: str, message, details: dict | None = None) -> dict:
    return {"error": {"code": code, "message": str(message), "details": details or {}}}


def _details_of(detail) -> dict:
    """DRF's error tree → {field: [message, ...]} (API.md). A nested
    serializer's or list's messages stay under their top-level field, led by
    their path ("best_available.quantity: ...", "seats.0: ..."), so no
    ErrorDetail(...) repr of a nested dict or list reaches the caller."""
    details: dict[str, list[str]] = {}

    def walk(node, field: str, path: str) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                walk(value, field or str(key), f"{path}.{key}" if path else str(key))
        elif isinstance(node, list) and any(isinstance(item, dict | list) for item in node):
            for index, item in enumerate(node):  # a nested serializer with many=True
                if item:
                    walk(item, field, f"{path}.{index}" if path else str(index))
        else:
            prefix = f"{path}: " if path != field else ""
            items = node if isinstance(node, list) else [node]
            messages = details.setdefault(field or "non_field_errors", [])
            messages.extend(prefix + str(item) for item in items)

    walk(detail, "", "")
    return details


def _server_error_body() -> dict:
    return error_body("server_error", _("Something went wrong on our side; please try again."))


def _drf_body(exc: exceptions.APIException) -> dict:
    if isinstance(exc, exceptions.ValidationError):
        return error_body(
            "validation_error", _("Some fields are invalid."), _details_of(exc.detail)
        )
    if isinstance(exc, exceptions.ParseError):
        # The parser's own text ("Expecting value: line 1 column 1") helps the
        # partner's developer but is not a sentence for a message.
        return error_body(
            "parse_error", _("The request body is not valid JSON."), {"reason": [str(exc.detail)]}
        )
    if isinstance(exc, exceptions.Throttled):
        wait = math.ceil(exc.wait or 1)
        return error_body(
            "throttled",
            _("Too many requests; try again in %(seconds)d s.") % {"seconds": wait},
            {"retry_after": wait},
        )
    codes = exc.get_codes()
    code = codes if isinstance(codes, str) else exc.default_code
    message = exc.detail if isinstance(exc.detail, str) else exc.default_detail
    return error_body(code, message)


def exception_handler(exc, context):
    if isinstance(exc, RequestDataTooBig):
        # A body without Content-Length (chunked) past the limit, found only
        # when read; a declared one was refused by RequestSizeLimitMiddleware.
        return request_too_large(context["request"])
    if backend_down(exc):
        logger.warning("API answered 503: %s: %s", type(exc).__name__, exc)
        exc = ServiceUnavailable()
    if isinstance(exc, KassaError):
        set_rollback()
        response = Response(error_body(exc.code, exc.message, exc.details), status=exc.status)
        if exc.retry_after:
            response["Retry-After"] = str(exc.retry_after)
        return response
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
        exc.wait = math.ceil(exc.wait)  # DRF would round 0.4 s down to "Retry-After: 0"
    response = drf_exception_handler(exc, context)
    if response is None:
        set_rollback()
        request = getattr(context.get("request"), "_request", None)
        if request is not None:  # the request rollup's error cause (sales.middleware)
            request.unhandled_exception = type(exc).__name__
        view = context.get("view")
        logger.error(
            "unhandled API error in %s",
            type(view).__name__ if view is not None else "?",
            exc_info=(type(exc), exc, exc.__traceback__),
        )
        return Response(_server_error_body(), status=status.HTTP_500_INTERNAL_SERVER_ERROR)
    response.data = _drf_body(exc)
    return response


def is_api_path(path: str) -> bool:
    return path.startswith(API_PREFIX)


def api_not_found(request) -> JsonResponse:
    """The JSON 404 for a URL under /api/ that no view matched."""
    body = error_body("not_found", exceptions.NotFound.default_detail)
    return JsonResponse(body, status=status.HTTP_404_NOT_FOUND)


def api_server_error(request) -> JsonResponse:
    """The JSON 500 for a crash outside a DRF view (Django already logged it)."""
    return JsonResponse(_server_error_body(), status=status.HTTP_500_INTERNAL_SERVER_ERROR)


# --- The API platform's own application errors ------------------------------


class IdempotencyKeyInvalid(KassaError):
    code = "idempotency_key_invalid"
    status = 400
    default_message = gettext_lazy(
        "The Idempotency-Key header must be 1 to 255 printable ASCII characters."
    )


class IdempotencyKeyReused(KassaError):
    code = "idempotency_key_reused"
    status = 422
    default_message = gettext_lazy(
        "This Idempotency-Key was already used with a different request body."
    )


class IdempotencyInFlight(KassaError):
    code = "idempotency_in_flight"
    status = 409
    default_message = gettext_lazy(
        "A request with this Idempotency-Key is still being processed; retry shortly."
    )
    retry_after = 1


class InvalidScopes(KassaError):
    code = "invalid_scopes"
    status = 400
    default_message = gettext_lazy("Unknown API key scope.")


def handler404(request, exception):
    """ticketing.urls' handler404: JSON under /api/, the normal page elsewhere."""
    if is_api_path(request.path):
        return api_not_found(request)
    from django.views.defaults import page_not_found

    return page_not_found(request, exception)


def handler500(request):
    """ticketing.urls' handler500: JSON under /api/, the normal page elsewhere;
    a 503 saying "try again in a few seconds" when PostgreSQL or Redis is
    unreachable (Django calls this inside its `except`, so the error is in
    sys.exc_info()): a restart of a server is an outage, not a bug."""
    if backend_down(sys.exc_info()[1]):
        return service_unavailable(request)
    if is_api_path(request.path):
        return api_server_error(request)
    from django.views.defaults import server_error

    return server_error(request)


def service_unavailable(request):
    exc = ServiceUnavailable()
    if is_api_path(request.path):
        response = JsonResponse(error_body(exc.code, exc.message), status=exc.status)
    else:
        from django.http import HttpResponse
        from django.template import loader

        # No request context: its processors may need the server that is down.
        response = HttpResponse(loader.get_template("503.html").render(), status=exc.status)
    response["Retry-After"] = str(exc.retry_after)
    return response


class WebviewDisabled(KassaError):
    code = "webview_disabled"
    status = 403
    default_message = gettext_lazy("The webview is not enabled for this partner.")


class WebviewTokenInvalid(KassaError):
    # One refusal for unknown, forged, expired, spent and foreign tokens: the
    # page must not tell a guesser which of them it hit.
    code = "webview_token_invalid"
    status = 403
    default_message = gettext_lazy(
        "This link has expired or was already used. Go back to the app and open it again."
    )
