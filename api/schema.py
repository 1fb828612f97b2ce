"""OpenAPI pieces shared by every API view, so all endpoints document errors alike.

Annotate a view with its success body and the errors *it* can raise:

    from drf_spectacular.utils import extend_schema
    from api.schema import error_responses

    class HoldCreate(APIView):
        @extend_schema(
            request=HoldIn,
            responses={201: HoldOut, **error_responses(400, 404, 409, 423)},
        )
        @idempotent
        def post(self, request): ...

Name nested serializers' components (`@extend_schema_serializer(component_name=
"HoldOut")` on a nested `OutputSerializer`): drf-spectacular names them after
the class, so every view's "Output" would otherwise collide.

Every status maps to the one error body component `Error`
(`{"error": {"code", "message", "details"}}`, see api/exceptions.py) with a
short description. You need not list what can happen on *every* endpoint:
`add_common_errors` (a SPECTACULAR postprocessing hook) adds 401, 429 and 500
to every operation, 400/415 to those with a request body, 403 to unsafe
methods (CSRF) and 409/422 to those decorated with `@idempotent` (which also
documents the `Idempotency-Key` header). `add_error_catalog` lists every
error code kassa answers with on the `Error` component (`x-error-codes`, code
→ status and meaning) and every header a partner meets in the API's
description (`x-headers`); docs/partners.md names the same ones and a test
holds the two together.
"""

from __future__ import annotations

import importlib
import importlib.util

from django.apps import apps
from django.utils import translation
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema_serializer
from rest_framework import serializers

ERROR_COMPONENT = "Error"


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable machine code, e.g. `seat_unavailable`.")
    message = serializers.CharField(help_text="Human message in the request's language.")
    details = serializers.DictField(
        help_text="For validation errors: field → list of messages; otherwise error-specific."
    )


@extend_schema_serializer(component_name=ERROR_COMPONENT)
class ErrorSerializer(serializers.Serializer):
    error = ErrorDetailSerializer()


ERROR_DESCRIPTIONS: dict[int, str] = {
    400: "Invalid input (`validation_error`: details maps field → messages) or malformed JSON "
    "(`parse_error`).",
    401: "Missing, unknown or revoked API key (`authentication_failed`, `not_authenticated`).",
    403: "The API key lacks the scope (`insufficient_scope`) or the caller may not do this.",
    404: "Not found (`not_found`).",
    405: "Method not allowed (`method_not_allowed`).",
    409: "Conflict: the state changed, stock is gone, or the same `Idempotency-Key` is still "
    "in flight (`idempotency_in_flight`, with `Retry-After`).",
    410: "Gone: the hold or queue pass has expired.",
    415: "Unsupported media type: send `application/json`.",
    422: "The `Idempotency-Key` was already used with another body (`idempotency_key_reused`).",
    423: "A waiting-room pass is required.",
    429: "Too many requests (`throttled`); `Retry-After` says when to come back.",
    500: "Unexpected error on our side (`server_error`); safe to retry with the same "
    "`Idempotency-Key`.",
}

IDEMPOTENCY_KEY_PARAMETER = OpenApiParameter(
    name="Idempotency-Key",
    type=OpenApiTypes.STR,
    location=OpenApiParameter.HEADER,
    required=False,
    description="Any unique string up to 255 printable ASCII characters. A retry with the same "
    "key and body within 24 h gets the first response again (`Idempotent-Replayed: true`).",
)


def error_responses(*statuses: int) -> dict[int, OpenApiResponse]:
    """`extend_schema(responses=...)` entries for these error statuses, all with the Error body."""
    return {
        code: OpenApiResponse(response=ErrorSerializer, description=ERROR_DESCRIPTIONS[code])
        for code in statuses
    }


def _error_ref(code: int) -> dict:
    return {
        "description": ERROR_DESCRIPTIONS[code],
        "content": {
            "application/json": {"schema": {"$ref": f"#/components/schemas/{ERROR_COMPONENT}"}}
        },
    }


def add_common_errors(result, generator, request, public):
    """Postprocessing hook: document the errors any operation can answer with."""
    if ERROR_COMPONENT not in result.get("components", {}).get("schemas", {}):
        return result  # nothing uses error_responses yet: no component to point at
    for item in result.get("paths", {}).values():
        for method, operation in item.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            codes = [401, 429, 500]
            if "requestBody" in operation:
                codes += [400, 415]
            if method in {"post", "put", "patch", "delete"}:
                codes.append(403)
            if any(p.get("name") == "Idempotency-Key" for p in operation.get("parameters", [])):
                codes += [409, 422]
            for code in codes:
                operation["responses"].setdefault(str(code), _error_ref(code))
    return result


# Codes of DRF's own exceptions and of the middleware, as api.exceptions and
# ticketing.middleware write them; the apps' codes come from their KassaError
# classes.
PLATFORM_ERRORS: dict[str, tuple[int, str]] = {
    "validation_error": (400, "Some fields are invalid; `details` maps field to messages."),
    "parse_error": (400, "The request body is not valid JSON."),
    "authentication_failed": (401, "Unknown or revoked API key, or a malformed Authorization."),
    "not_authenticated": (401, "No credentials: send `Authorization: Api-Key <key>`."),
    "insufficient_scope": (403, "The API key lacks the scope this endpoint needs."),
    "permission_denied": (403, "This caller may not do this."),
    "not_found": (404, "Not found."),
    "method_not_allowed": (405, "Method not allowed."),
    "not_acceptable": (406, "Ask for `application/json`."),
    "request_too_large": (413, "The request body is too large."),
    "unsupported_media_type": (415, "Send `application/json`."),
    "throttled": (429, "Too many requests; `Retry-After` says when to come back."),
    "server_error": (500, "Unexpected; safe to retry with the same `Idempotency-Key`."),
}

# Every header a partner sends or receives, in the API and on webhooks.
HEADERS: dict[str, str] = {
    "Authorization": "Request. `Api-Key <key>` (security scheme `ApiKey`); the key's scopes "
    "decide what it may call.",
    "Idempotency-Key": "Request, on POSTs that create (holds, orders, payments, replays): the "
    "same key and body within 24 h answers the first response again.",
    "Idempotent-Replayed": "Response: `true` when the answer is the replay of an earlier "
    "request with the same `Idempotency-Key`.",
    "X-Queue-Token": "Request to `GET queue/status/`: the token `queue/join/` answered.",
    "X-Queue-Pass": "Request to `POST holds/` of a phase guarded by a waiting room: the signed "
    "pass the queue status answered once admitted, bound to the buyer (`buyer_ref`).",
    "X-Order-Token": "Request: an order's access token (the site's buyers; partners send "
    "their key instead).",
    "Kassa-Signature": '`t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`: kassa signs '
    "webhooks with the endpoint secret; a partner signs on-account confirmations with its "
    "on-account secret. Two `v1=` during a secret rotation; `t` at most 5 minutes off.",
    "Kassa-Event-Id": "Webhook request: the event's id, the same on every retry and replay: "
    "dedupe on it.",
    "Kassa-Event-Type": "Webhook request: the event type, e.g. `order.paid`.",
    "Kassa-Delivery-Id": "Webhook request: this delivery (its attempts are listed at "
    "`webhooks/deliveries/`).",
    "Retry-After": "Response to 429 and 503 (and `busy` 409s): seconds to wait before "
    "trying again.",
    "X-Request-ID": "Request and response: a request id (honoured or generated), in kassa's "
    "logs; quote it when asking for help.",
}


def error_catalog() -> dict[str, tuple[int, str]]:
    """Every error code kassa's API can answer with: code -> (status, meaning).

    The apps' KassaError classes (each app's `exceptions` module, imported here
    by name through the app registry, so this layer depends on none of them)
    plus the platform's own codes."""
    from ticketing.errors import KassaError

    for config in apps.get_app_configs():
        name = f"{config.name}.exceptions"
        if importlib.util.find_spec(name) is not None:
            importlib.import_module(name)
    catalog = dict(PLATFORM_ERRORS)
    todo = list(KassaError.__subclasses__())
    with translation.override("en"):
        while todo:
            cls = todo.pop()
            todo.extend(cls.__subclasses__())
            if cls.__module__.split(".")[0] == "sandbox" or ".tests" in cls.__module__:
                continue  # the acquirer's own API; test doubles
            catalog.setdefault(cls.code, (cls.status, str(cls.default_message)))
    return dict(sorted(catalog.items()))


def add_error_catalog(result, generator, request, public):
    """Postprocessing hook: the error codes on the Error component, the headers in
    the description, so a generated client or a reader of /api/v1/docs/ has both."""
    catalog = error_catalog()
    error = result.get("components", {}).get("schemas", {}).get(ERROR_COMPONENT)
    if error is not None:
        error["x-error-codes"] = {
            code: {"status": status, "description": text}
            for code, (status, text) in catalog.items()
        }
        error["description"] = "Every error body. `error.code` is one of:\n\n" + "\n".join(
            f"- `{code}` ({status}): {text}" for code, (status, text) in catalog.items()
        )
    info = result.setdefault("info", {})
    info["x-headers"] = dict(HEADERS)
    info["description"] = (
        info.get("description", "")
        + "\n\nThe partner guide: docs/partners.md.\n\n## Headers\n\n"
        + "\n".join(f"- `{name}`: {text}" for name, text in HEADERS.items())
    )
    for item in result.get("paths", {}).values():
        for operation in item.values():
            if not isinstance(operation, dict):
                continue
            for status in ("429", "503"):
                answer = operation.get("responses", {}).get(status)
                if answer is not None:
                    answer.setdefault("headers", {})["Retry-After"] = {
                        "schema": {"type": "integer"},
                        "description": HEADERS["Retry-After"],
                    }
    return result
