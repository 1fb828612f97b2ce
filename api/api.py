"""The API platform's own endpoints: who am I (for partners checking a key),
and the partner's one-time tokens that open kassa's pages in its app."""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_serializer
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.selectors import buyer_identity
from api.buyers import phone_sha256_field
from api.models import Scope
from api.permissions import PartnerScope, partner_key
from api.schema import ErrorSerializer, error_responses
from api.services import webview_next_path, webview_token_create


class MeView(APIView):
    @extend_schema_serializer(component_name="Me")
    class OutputSerializer(serializers.Serializer):
        channel = serializers.CharField(help_text="`web` or `partner:<slug>`.")
        partner = serializers.CharField(
            allow_null=True, help_text="The partner's slug; null without an API key."
        )
        key_prefix = serializers.CharField(
            allow_null=True, help_text="The API key's public prefix; null without one."
        )
        scopes = serializers.ListField(child=serializers.ChoiceField(choices=Scope.choices))

    @extend_schema(
        operation_id="me",
        summary="The caller's channel and the API key's scopes",
        description="Partners call this to check a key: it answers 401 for an unknown or "
        "revoked key. Without a key the channel is `web` and there are no scopes.",
        tags=["platform"],
        responses={200: OutputSerializer, **error_responses(401, 429)},
    )
    def get(self, request):
        key = partner_key(request)
        buyer = buyer_identity(request)
        data = {
            "channel": buyer.channel,
            "partner": key.partner.slug if key else None,
            "key_prefix": key.prefix if key else None,
            "scopes": list(key.scopes) if key else [],
        }
        return Response(self.OutputSerializer(data).data)


class WebviewTokenApi(APIView):
    permission_classes = [PartnerScope.of("sell")]

    @extend_schema_serializer(component_name="WebviewTokenCreate")
    class InputSerializer(serializers.Serializer):
        buyer_ref = serializers.CharField(
            max_length=100, help_text="Your customer's id, as in the other calls."
        )
        phone_sha256 = phone_sha256_field()
        event = serializers.SlugField(
            required=False, help_text="Open this event's page (`/e/<event>/`)."
        )
        next = serializers.CharField(
            required=False,
            max_length=500,
            help_text="Or open this path of the site (default `/`); never another host.",
        )

        def validate_next(self, value: str) -> str:
            if webview_next_path(value) is None:
                raise serializers.ValidationError(_("Give a path on this site, like /e/show/."))
            return value

        def validate(self, attrs):
            if attrs.get("event") and attrs.get("next"):
                raise serializers.ValidationError({"next": [_("Send event or next, not both.")]})
            return attrs

    @extend_schema_serializer(component_name="WebviewToken")
    class OutputSerializer(serializers.Serializer):
        token = serializers.CharField(help_text="One use, until expires_at.")
        url = serializers.URLField(help_text="Open this in your app's webview.")
        expires_at = serializers.DateTimeField()

    @extend_schema(
        operation_id="webview_token_create",
        summary="A one-time link that opens kassa's pages as your customer",
        description=(
            "Your server calls this (never your app: it holds your key) and gives the "
            "returned `url` to your app, which opens it in a webview at once. kassa then "
            "serves its pages to that webview as your customer (channel `partner:<slug>`, "
            "the same buyer as `buyer_ref` / `phone_sha256` in the API: one waiting-room "
            "place and one per-buyer limit), with no sign-in. The token is spent by the "
            "first open and lives `webview_token_seconds` (admin, default 120 s); the "
            "webview session lasts up to 2 hours. After payment the order page links and "
            "sends the webview to your app's return link (admin, e.g. "
            "`bankapp://kassa/orders/{code}`) with the order code. Needs the `sell` scope "
            "and the webview enabled for you in admin (else `webview_disabled`, 403)."
        ),
        tags=["platform"],
        request=InputSerializer,
        responses={
            201: OutputSerializer,
            **error_responses(400, 401, 429),
            403: OpenApiResponse(
                response=ErrorSerializer,
                description="`webview_disabled`: staff have not enabled your webview; "
                "`insufficient_scope`: the key lacks `sell`; `permission_denied`: no key.",
            ),
        },
    )
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        d = data.validated_data
        minted = webview_token_create(
            partner=partner_key(request).partner,
            buyer_ref=d["buyer_ref"],
            phone_sha256=d.get("phone_sha256", ""),
            next_path=f"/e/{d['event']}/" if d.get("event") else d.get("next", "/"),
        )
        url = settings.SITE_URL.rstrip("/") + "/webview/?" + urlencode({"token": minted.token})
        body = {"token": minted.token, "url": url, "expires_at": minted.expires_at}
        return Response(self.OutputSerializer(body).data, status=status.HTTP_201_CREATED)
