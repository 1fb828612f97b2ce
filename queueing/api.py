"""REST endpoints of the waiting room (thin: parse, call one service/selector, render)."""

from __future__ import annotations

import json
import time

from django.conf import settings
from django.http import HttpResponse
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.selectors import buyer_identity
from api import throttling
from api.buyers import phone_sha256_check, phone_sha256_field
from queueing import selectors, services, state
from queueing.exceptions import RoomNotFound

_ERROR = OpenApiResponse(description='`{"error": {"code", "message", "details"}}`')


class JoinInput(serializers.Serializer):
    buyer_ref = serializers.CharField(required=False, max_length=100)
    phone_sha256 = phone_sha256_field()
    again = serializers.BooleanField(
        required=False,
        default=False,
        help_text="after the pass ended (order paid) or ran out: join again at the back of "
        "the queue (a new number); refused with queue_limit_reached at the per-buyer limit",
    )

    def validate(self, attrs):
        return phone_sha256_check(attrs)


class JoinOutput(serializers.Serializer):
    token = serializers.CharField()
    state = serializers.CharField()
    position = serializers.IntegerField(allow_null=True, help_text="place in line, 1 = next")
    ahead = serializers.IntegerField(allow_null=True, help_text="people in front (position - 1)")
    eta_seconds = serializers.IntegerField(allow_null=True)
    number = serializers.IntegerField(allow_null=True)


StatusOutput = inline_serializer(
    "QueueStatus",
    {
        "state": serializers.ChoiceField(
            ["waiting", "admitted", "paused", "closed", "sold_out", "done", "expired"],
            help_text="done: the pass ended with a paid order; expired: its time ran out "
            "(both: join again with again=true)",
        ),
        "cap": serializers.IntegerField(allow_null=True, help_text="tickets per buyer"),
        "number": serializers.IntegerField(allow_null=True),
        "position": serializers.IntegerField(allow_null=True, help_text="place in line, 1 = next"),
        "ahead": serializers.IntegerField(allow_null=True, help_text="people in front"),
        "eta_seconds": serializers.IntegerField(allow_null=True),
        "tickets_left": serializers.IntegerField(allow_null=True),
        "pass": serializers.CharField(required=False),
        "pass_expires_at": serializers.IntegerField(required=False),
        "token": serializers.CharField(required=False, help_text="a refreshed queue token"),
    },
)

StateOutput = inline_serializer(
    "QueuePublicState",
    {
        "state": serializers.ChoiceField(
            ["off", "prequeue", "open", "paused", "closed", "sold_out"]
        ),
        "serving": serializers.IntegerField(),
        "tail": serializers.IntegerField(),
        "rate_per_minute": serializers.IntegerField(),
        "commitment": serializers.CharField(),
        "seed": serializers.CharField(allow_null=True),
        "tickets_left": serializers.IntegerField(allow_null=True),
    },
)


def _room_id(slug: str) -> int:
    room_id = selectors.room_id_for_slug(slug)
    if not room_id:
        raise RoomNotFound()
    return room_id


def join_answer(
    *,
    room_id: int,
    visitor: str,
    again: bool = False,
    notify_as: str | None = None,
    counter: state.Counter | None = None,
) -> dict:
    if again:
        joined = services.queue_rejoin(room_id=room_id, visitor=visitor, notify_as=notify_as)
    else:
        joined = services.queue_join(
            room_id=room_id, visitor=visitor, notify_as=notify_as, counter=counter
        )
    answer = selectors.join_status(joined=joined)
    return {"token": joined.token, "number": joined.number or None, **answer}


# --- the guests' fast lane ----------------------------------------------------
# Join and status are the waiting room's crowd calls (every visitor, every few
# seconds). For the plain case, an anonymous caller asking for JSON, the views
# answer without DRF's request cycle (negotiation, authentication, throttle
# step, serializer, renderer) and count the throttle in the queue script's own
# Redis round trip (state._COUNTED). The answer is what DRF gives the same
# request: the same body bytes, status and headers; errors, and every other
# case (API keys, sessions, other bodies, Accept or query strings, a Redis
# Cluster), go through DRF's own code (APIView.dispatch / handle_exception).

# What DRF's content negotiation would answer with the one JSON renderer.
_PLAIN_ACCEPT = frozenset({"", "*/*", "application/json"})


def _fast_lane(request, method: str) -> bool:
    return (
        request.method == method
        and request.META.get("HTTP_ACCEPT", "") in _PLAIN_ACCEPT
        and not request.META.get("QUERY_STRING")  # ?format= picks a renderer
        and state.counted_supported()
    )


def _json(body: dict, allow: str) -> HttpResponse:
    """DRF's JSONRenderer output (compact, UTF-8, U+2028/9 escaped) and headers."""
    text = json.dumps(body, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    text = text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    response = HttpResponse(text.encode(), content_type="application/json")
    response["Allow"] = allow
    return response


def _fast_answer(view: APIView, request, args, kwargs, work) -> HttpResponse:
    """`work(counter)` → the 200 body; an error is answered by DRF's exception
    handling, after counting the throttle on its own if the script did not."""
    window = throttling.guest_window(request, time.time())
    counter = state.Counter(key=window.key, limit=window.limit, expiry=window.expiry)
    try:
        return _json(work(counter), ", ".join(view.allowed_methods))
    except state.CounterExceeded:
        exc: Exception = throttling.window_refused(window)
    except Exception as error:  # answered as APIView.dispatch answers it
        exc = error
        if not counter.sent and not throttling.window_count(window):
            exc = throttling.window_refused(window)  # DRF counts before the view
    view.args, view.kwargs = args, kwargs
    view.request = view.initialize_request(request, *args, **kwargs)
    view.headers = view.default_response_headers
    view.format_kwarg = view.get_format_suffix(**kwargs)  # as APIView.initial sets it
    response = view.handle_exception(exc)
    return view.finalize_response(view.request, response, *args, **kwargs)


def _guest_join_body(request) -> bool:
    """Is this a join for the fast lane: no API key, no session, and a body
    DRF would read as `{}` or `{"again": false}` (anything else, DRF validates)?"""
    if "HTTP_AUTHORIZATION" in request.META or settings.SESSION_COOKIE_NAME in request.COOKIES:
        return False
    if "HTTP_CONTENT_LENGTH" in request.META:
        return False  # DRF reads the body's length from either header
    length = request.META.get("CONTENT_LENGTH") or "0"
    if length == "0":
        return True  # no body: DRF's request.data is {}
    if request.content_type != "application/json" or request.content_params:
        return False
    try:
        data = json.loads(request.body)
    except ValueError:
        return False
    return isinstance(data, dict) and data.keys() <= {"again"} and data.get("again", False) is False


class QueueJoinApi(APIView):
    permission_classes = [AllowAny]

    def dispatch(self, request, *args, **kwargs):
        if not (_fast_lane(request, "POST") and _guest_join_body(request)):
            return super().dispatch(request, *args, **kwargs)

        def work(counter):
            # A guest: the device key; reading request.user marks the session
            # read (Vary: Cookie), as DRF's SessionAuthentication does.
            buyer = buyer_identity(request)
            room_id = _room_id(kwargs["slug"])
            return join_answer(
                room_id=room_id, visitor=buyer.key, notify_as=buyer.partner_ref, counter=counter
            )

        return _fast_answer(self, request, args, kwargs, work)

    @extend_schema(
        request=JoinInput,
        responses={200: JoinOutput, 400: _ERROR, 404: _ERROR, 409: _ERROR, 503: _ERROR},
    )
    def post(self, request, slug: str):
        room_id = _room_id(slug)
        data = JoinInput(data=request.data)
        data.is_valid(raise_exception=True)
        d = data.validated_data
        buyer = buyer_identity(
            request, buyer_ref=d.get("buyer_ref"), phone_sha256=d.get("phone_sha256", "")
        )
        # A customer known by phone is still told of the admission as the
        # partner's buyer_ref (queue.admitted).
        answer = join_answer(
            room_id=room_id, visitor=buyer.key, again=d["again"], notify_as=buyer.partner_ref
        )
        return Response(answer)


class QueueStatusApi(APIView):
    # The token is the identity: no session, no database.
    authentication_classes: list = []
    permission_classes = [AllowAny]

    def dispatch(self, request, *args, **kwargs):
        # No authentication here: every caller is counted per IP (guest_window).
        if not _fast_lane(request, "GET"):
            return super().dispatch(request, *args, **kwargs)
        token = request.headers.get("X-Queue-Token")
        return _fast_answer(
            self,
            request,
            args,
            kwargs,
            lambda counter: selectors.queue_status(token=token, counter=counter),
        )

    @extend_schema(
        parameters=[OpenApiParameter("X-Queue-Token", str, OpenApiParameter.HEADER, required=True)],
        responses={200: StatusOutput, 400: _ERROR, 503: _ERROR},
    )
    def get(self, request):
        return Response(selectors.queue_status(token=request.headers.get("X-Queue-Token")))


ShuffleOutput = inline_serializer(
    "QueueShuffle",
    {
        "commitment": serializers.CharField(),
        "seed": serializers.CharField(allow_null=True),
        "base": serializers.IntegerField(allow_null=True),
        "order": serializers.ListField(child=serializers.ListField(), allow_null=True),
    },
)


class QueueShuffleApi(APIView):
    """The published shuffle: re-check it with `manage.py queue_verify --file`."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(responses={200: ShuffleOutput, 404: _ERROR})
    def get(self, request, slug: str):
        response = Response(selectors.room_shuffle_export(slug=slug))
        response["Cache-Control"] = "public, max-age=60"
        response.kassa_public = True
        return response


class QueueStateApi(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(responses={200: StateOutput, 404: _ERROR, 503: _ERROR})
    def get(self, request, slug: str):
        response = Response(selectors.room_public_state(room_id=_room_id(slug)))
        response["Cache-Control"] = "public, max-age=1"
        response.kassa_public = True  # see queueing.middleware.PublicCacheMiddleware
        return response
