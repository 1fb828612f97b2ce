"""Test-only endpoints under /api/v1/test/ on top of the real URLconf
(`@pytest.mark.urls("api.tests.urls")`)."""

from __future__ import annotations

import threading
import time
import uuid

from django.urls import path
from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from api.idempotency import idempotent
from api.permissions import HasScope, RequiresScope
from api.schema import error_responses
from ticketing.errors import Conflict
from ticketing.models import AuditEntry
from ticketing.urls import handler404, handler500
from ticketing.urls import urlpatterns as root_patterns

# Set by tests to hold the "creating" view mid-request.
GATE = {"started": threading.Event(), "release": threading.Event(), "hold": False, "sleep": 0.0}


class ThingCreate(APIView):
    @extend_schema_serializer(component_name="TestThingIn")
    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=20)
        fail = serializers.ChoiceField(choices=["", "conflict", "crash"], default="")

    @extend_schema_serializer(component_name="TestThing")
    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        nonce = serializers.CharField()
        at = serializers.DateTimeField()

    @extend_schema(
        request=InputSerializer, responses={201: OutputSerializer, **error_responses(400, 409)}
    )
    @idempotent
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        if data.validated_data["fail"] == "conflict":
            raise Conflict()
        if data.validated_data["fail"] == "crash":
            raise RuntimeError("the database fell over")
        if GATE["hold"]:
            GATE["started"].set()
            GATE["release"].wait(10)
        time.sleep(GATE["sleep"])
        # A real effect to count, plus values that differ on every run. A raw
        # row: "test.thing" is no AuditAction, so audit_log would refuse it.
        entry = AuditEntry.objects.create(
            action="test.thing", actor="test", data=dict(data.validated_data)
        )
        return Response(
            {"id": entry.pk, "nonce": uuid.uuid4().hex, "at": timezone.now().isoformat()},
            status=status.HTTP_201_CREATED,
            headers={"Location": f"/api/v1/test/things/{entry.pk}/"},
        )


class Boom(APIView):
    @extend_schema(responses={200: None})
    def get(self, request):
        raise ZeroDivisionError("unexpected")


class Sell(APIView):
    permission_classes = [HasScope.of("sell")]

    @extend_schema(responses={200: None})
    def get(self, request):
        return Response({"ok": True})


class Checkin(APIView):
    permission_classes = [RequiresScope.of("checkin")]

    @extend_schema(responses={200: None})
    def get(self, request):
        return Response({"ok": True})


def plain_boom(request):
    raise ZeroDivisionError("outside DRF")


urlpatterns = [
    path("api/v1/test/things/", ThingCreate.as_view()),
    path("api/v1/test/boom/", Boom.as_view()),
    path("api/v1/test/plain-boom/", plain_boom),
    path("test-page-boom/", plain_boom),
    path("api/v1/test/sell/", Sell.as_view()),
    path("api/v1/test/checkin/", Checkin.as_view()),
    *root_patterns,
]

__all__ = ["handler404", "handler500", "urlpatterns"]
