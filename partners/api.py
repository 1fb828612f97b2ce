"""GET /webhooks/deliveries/ and POST /webhooks/deliveries/{id}/replay/: a
partner reads its webhook deliveries and asks for one to be sent again."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_serializer
from rest_framework import generics, serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from api.idempotency import idempotent
from api.pagination import KassaCursorPagination
from api.permissions import partner_key
from api.schema import error_responses
from partners.models import WebhookDelivery
from partners.services import webhook_delivery_replay

WEBHOOK_HEADERS_DOC = (
    "Each webhook is a `POST` of a JSON body `{id, type, created, data}` to the endpoint, "
    "with these headers: `Kassa-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "
    '"<t>.<raw body>" with the endpoint secret>` (a second `v1=` during a secret rotation: '
    "accept if any matches, refuse a `t` older than 5 minutes); `Kassa-Event-Id` (the event's "
    "id, the same for a retry or a replay: dedupe on it, delivery is at least once); "
    "`Kassa-Event-Type` (`queue.admitted`, `order.paid`, `order.refunded`, `order.expired`); "
    "`Kassa-Delivery-Id` "
    "(this delivery). Answer any 2xx within 10 s; anything else (or no answer) is retried "
    "with exponential back-off (2 s doubling, at most 10 min apart) and given up after 50 tries."
)


class PartnerKeyOnly(BasePermission):
    """Only a partner's API key: deliveries belong to a partner."""

    code = "permission_denied"
    message = _("Only a partner API key may read webhook deliveries.")

    def has_permission(self, request, view) -> bool:
        return partner_key(request) is not None


class AttemptOut(serializers.Serializer):
    started_at = serializers.DateTimeField()
    duration_ms = serializers.IntegerField()
    status_code = serializers.IntegerField(allow_null=True, help_text="null: no HTTP answer")
    response_body = serializers.CharField(help_text="the first 2000 characters of the answer")
    error = serializers.CharField(help_text="why no answer came (timeout, refused), else empty")


@extend_schema_serializer(component_name="WebhookDelivery")
class DeliveryOut(serializers.ModelSerializer):
    attempts = AttemptOut(many=True, source="tries")
    attempt_count = serializers.IntegerField(source="attempts")
    endpoint_url = serializers.CharField(source="endpoint.url")
    replay_of = serializers.UUIDField(source="replay_of_id", allow_null=True)

    class Meta:
        model = WebhookDelivery
        fields = ["id", "event_id", "event_type", "endpoint_url", "status", "attempt_count",
                  "last_status_code", "payload", "replay_of", "created_at", "delivered_at",
                  "attempts"]  # fmt: skip


class DeliveryPagination(KassaCursorPagination):
    ordering = ("-created_at", "-id")


class DeliveryListApi(generics.ListAPIView):
    permission_classes = [PartnerKeyOnly]
    pagination_class = DeliveryPagination
    serializer_class = DeliveryOut

    def get_queryset(self):
        return (
            WebhookDelivery.objects.filter(partner_id=partner_key(self.request).partner_id)
            .select_related("endpoint")
            .prefetch_related("tries")
        )

    @extend_schema(
        operation_id="webhook_deliveries_list",
        summary="The partner's webhook deliveries, newest first, with every attempt",
        description=WEBHOOK_HEADERS_DOC,
        responses={200: DeliveryOut(many=True), **error_responses(400, 403)},
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class DeliveryReplayApi(APIView):
    permission_classes = [PartnerKeyOnly]

    @extend_schema(
        operation_id="webhook_delivery_replay",
        summary="Send a delivery's event again (a new delivery, same Kassa-Event-Id)",
        description=WEBHOOK_HEADERS_DOC,
        request=None,
        responses={
            202: OpenApiResponse(DeliveryOut, description="The new delivery, queued."),
            **error_responses(403, 404),
        },
    )
    @idempotent
    def post(self, request, delivery_id):
        delivery = (
            WebhookDelivery.objects.filter(
                pk=delivery_id, partner_id=partner_key(request).partner_id
            )
            .select_related("endpoint")
            .first()
        )
        if delivery is None:
            raise NotFound()
        replay = webhook_delivery_replay(
            delivery=delivery, actor=f"partner:{partner_key(request).partner.slug}"
        )
        replay = WebhookDelivery.objects.select_related("endpoint").get(pk=replay.pk)
        return Response(DeliveryOut(replay).data, status=status.HTTP_202_ACCEPTED)
