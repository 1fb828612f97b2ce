"""The API platform's own endpoint: who am I (for partners checking a key)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.selectors import buyer_identity
from api.models import Scope
from api.permissions import partner_key
from api.schema import error_responses


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
