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
from partners.models import WebhookDelivery, WebhookEndpoint, WebhookEventType
from partners.services import (
    webhook_delivery_replay,
    webhook_endpoint_create,
    webhook_endpoint_disable,
    webhook_endpoint_rotate_secret,
)

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


# --- endpoints ----------------------------------------------------------------


@extend_schema_serializer(component_name="WebhookEndpoint")
class EndpointOut(serializers.ModelSerializer):
    rotation_ends_at = serializers.DateTimeField(
        source="previous_secret_expires_at",
        allow_null=True,
        help_text="while set and in the future, deliveries carry a v1= for the old secret too",
    )

    class Meta:
        model = WebhookEndpoint
        fields = ["id", "url", "events", "description", "is_active", "created_at",
                  "rotation_ends_at"]  # fmt: skip


@extend_schema_serializer(component_name="WebhookEndpointCreated")
class EndpointCreatedOut(EndpointOut):
    secret = serializers.CharField(help_text="shown only in this answer; sign checks use it")

    class Meta(EndpointOut.Meta):
        fields = [*EndpointOut.Meta.fields, "secret"]


class EndpointIn(serializers.Serializer):
    url = serializers.CharField(max_length=500, help_text="https:// address of your server")
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=WebhookEventType.choices), allow_empty=False
    )
    description = serializers.CharField(max_length=200, required=False, allow_blank=True)


class SecretOut(serializers.Serializer):
    secret = serializers.CharField(help_text="the new secret, shown only in this answer")
    rotation_ends_at = serializers.DateTimeField(help_text="the old secret signs until then")


def _own_endpoint(request, endpoint_id: int) -> WebhookEndpoint:
    endpoint = WebhookEndpoint.objects.filter(
        pk=endpoint_id, partner_id=partner_key(request).partner_id
    ).first()
    if endpoint is None:
        raise NotFound()
    return endpoint


class EndpointListApi(APIView):
    permission_classes = [PartnerKeyOnly]

    @extend_schema(
        operation_id="webhook_endpoints_list",
        summary="The partner's webhook endpoints",
        responses={200: EndpointOut(many=True), **error_responses(403)},
    )
    def get(self, request):
        endpoints = WebhookEndpoint.objects.filter(partner_id=partner_key(request).partner_id)
        return Response(EndpointOut(endpoints, many=True).data)

    @extend_schema(
        operation_id="webhook_endpoint_create",
        summary="Register an endpoint; the answer carries its signing secret, once",
        description=WEBHOOK_HEADERS_DOC,
        request=EndpointIn,
        responses={201: EndpointCreatedOut, **error_responses(400, 403)},
    )
    @idempotent
    def post(self, request):
        data = EndpointIn(data=request.data)
        data.is_valid(raise_exception=True)
        key = partner_key(request)
        endpoint, secret = webhook_endpoint_create(
            partner=key.partner,
            url=data.validated_data["url"],
            events=data.validated_data["events"],
            description=data.validated_data.get("description", ""),
            actor=f"partner:{key.partner.slug}",
        )
        endpoint.secret = secret
        return Response(EndpointCreatedOut(endpoint).data, status=status.HTTP_201_CREATED)


class EndpointDetailApi(APIView):
    permission_classes = [PartnerKeyOnly]

    @extend_schema(
        operation_id="webhook_endpoint_disable",
        summary="Disable an endpoint: nothing new is sent to it",
        request=None,
        responses={204: None, **error_responses(403, 404)},
    )
    def delete(self, request, endpoint_id: int):
        endpoint = _own_endpoint(request, endpoint_id)
        webhook_endpoint_disable(
            endpoint=endpoint, actor=f"partner:{partner_key(request).partner.slug}"
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class EndpointRotateApi(APIView):
    permission_classes = [PartnerKeyOnly]

    @extend_schema(
        operation_id="webhook_endpoint_rotate_secret",
        summary="A new signing secret; the old one keeps signing for 24 h beside it",
        request=None,
        responses={200: SecretOut, **error_responses(403, 404)},
    )
    def post(self, request, endpoint_id: int):
        endpoint = _own_endpoint(request, endpoint_id)
        secret = webhook_endpoint_rotate_secret(
            endpoint=endpoint, actor=f"partner:{partner_key(request).partner.slug}"
        )
        endpoint.refresh_from_db()
        return Response(
            SecretOut(
                {"secret": secret, "rotation_ends_at": endpoint.previous_secret_expires_at}
            ).data
        )
