"""POST /holds/, GET/DELETE /holds/{id}/ (API.md)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.selectors import buyer_identity
from api.bodies import output_body
from api.buyers import phone_sha256_check, phone_sha256_field
from api.idempotency import idempotent
from api.permissions import HasScope
from orders import holdkinds
from orders.api.common import error, event_from_ref
from orders.exceptions import HoldNotFound
from orders.models import Hold
from orders.services.holds import hold_create, hold_release
from orders.services.orders import hold_visible_to


class HoldOut(serializers.Serializer):
    id = serializers.UUIDField()
    event = serializers.IntegerField()
    status = serializers.CharField()
    expires_at = serializers.DateTimeField()
    items = serializers.ListField(child=serializers.DictField())
    quantity = serializers.IntegerField()
    total = serializers.DecimalField(max_digits=12, decimal_places=2)
    currency = serializers.CharField()


def hold_items(hold: Hold) -> list[dict]:
    if getattr(hold, "items", None) is not None:  # hold_create built them from its locked rows
        return hold.items
    return holdkinds.kind_of(hold).items(hold)


def hold_body(hold: Hold) -> dict:
    return output_body(
        HoldOut,
        {
            "id": hold.pk,
            "event": hold.event_id,
            "status": hold.status,
            "expires_at": hold.expires_at,
            "items": hold_items(hold),
            "quantity": hold.quantity,
            "total": hold.total,
            "currency": hold.currency,
        },
    )


# The hold request: the event, exactly one hold kind's field (seats,
# best_available, standing: each kind declares its own in orders/holdkinds),
# an access code and a partner's buyer reference. A comment, not a docstring:
# drf-spectacular would publish a docstring in the API schema.
class HoldCreateIn(serializers.Serializer):
    event = serializers.CharField(help_text="Event id or slug.")
    access_code = serializers.CharField(required=False, allow_blank=True)
    # 100, as queue join: with "partner:<slug>:" it fits the buyer key (200).
    buyer_ref = serializers.CharField(required=False, allow_blank=True, max_length=100)
    phone_sha256 = phone_sha256_field()

    def validate(self, attrs):
        return phone_sha256_check(attrs)

    def get_fields(self):
        fields = super().get_fields()
        # The kinds' fields right after event, where API.md lists them.
        return {"event": fields.pop("event"), **holdkinds.api_fields(), **fields}


class HoldCreateApi(APIView):
    permission_classes = [HasScope.of("sell")]

    @extend_schema(
        operation_id="hold_create",
        request=HoldCreateIn,
        parameters=[OpenApiParameter("X-Queue-Pass", str, OpenApiParameter.HEADER)],
        responses={
            201: HoldOut,
            400: error("validation_error"),
            404: error("event_not_found"),
            403: error("access_code_invalid / API key lacks the sell scope"),
            409: error("seat_unavailable, not_enough_seats, limit_exceeded, phase_closed, busy"),
            410: error("queue_pass_expired"),
            423: error("queue_pass_required / queue_pass_invalid"),
        },
    )
    @idempotent
    def post(self, request):
        data = HoldCreateIn(data=request.data)
        data.is_valid(raise_exception=True)
        d = data.validated_data
        hold = hold_create(
            event=event_from_ref(d["event"]),
            buyer=buyer_identity(
                request,
                buyer_ref=d.get("buyer_ref") or None,
                phone_sha256=d.get("phone_sha256", ""),
            ),
            access_code=d.get("access_code"),
            queue_pass=request.headers.get("X-Queue-Pass"),
            user=request.user if getattr(request.user, "is_authenticated", False) else None,
            **{field: d.get(field) for field in holdkinds.FIELDS},
        )
        return Response(hold_body(hold), status=status.HTTP_201_CREATED)


def visible_hold(request, hold_id) -> Hold:
    buyer = buyer_identity(request, buyer_ref=request.query_params.get("buyer_ref"))
    hold = Hold.objects.filter(pk=hold_id).first()
    if hold is None or not hold_visible_to(hold=hold, buyer=buyer):
        raise HoldNotFound()
    return hold


class HoldDetailApi(APIView):
    permission_classes = [HasScope.of("sell")]

    @extend_schema(
        operation_id="hold_read",
        responses={200: HoldOut, 404: error("hold_not_found (also another buyer's hold)")},
    )
    def get(self, request, hold_id):
        return Response(hold_body(visible_hold(request, hold_id)))

    @extend_schema(
        operation_id="hold_release",
        responses={
            200: HoldOut,
            404: error("hold_not_found"),
            409: error("hold_not_active: already ordered, released or expired"),
        },
    )
    def delete(self, request, hold_id):
        hold = hold_release(hold=visible_hold(request, hold_id), actor=_actor(request))
        return Response(hold_body(hold))


def _actor(request) -> str:
    partner = getattr(request, "partner", None)
    return partner.channel if partner is not None else "buyer"
