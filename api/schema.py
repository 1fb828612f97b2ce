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
documents the `Idempotency-Key` header).
"""

from __future__ import annotations

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
