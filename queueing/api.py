"""REST endpoints of the waiting room (thin: parse, call one service/selector, render)."""

from __future__ import annotations

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
from api.buyers import phone_sha256_check, phone_sha256_field
from queueing import selectors, services
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
    *, room_id: int, visitor: str, again: bool = False, notify_as: str | None = None
) -> dict:
    join = services.queue_rejoin if again else services.queue_join
    joined = join(room_id=room_id, visitor=visitor, notify_as=notify_as)
    answer = selectors.join_status(joined=joined)
    return {"token": joined.token, "number": joined.number or None, **answer}


class QueueJoinApi(APIView):
    permission_classes = [AllowAny]

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
