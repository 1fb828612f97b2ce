"""Shared pieces of the holds/orders API: the error body for the schema, event lookup."""

from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import serializers

from events.models import Event
from orders.exceptions import ValidationFailed

ErrorBody = inline_serializer(
    name="ErrorBody",
    fields={
        "error": inline_serializer(
            name="ErrorDetail",
            fields={
                "code": serializers.CharField(),
                "message": serializers.CharField(),
                "details": serializers.DictField(),
            },
        )
    },
)


def error(description: str) -> OpenApiResponse:
    return OpenApiResponse(ErrorBody, description=description)


def event_from_ref(ref: str) -> Event:
    """An event by id or slug; unknown → validation_error on the `event` field."""
    query = Event.objects.all()
    event = query.filter(pk=int(ref)).first() if ref.isdigit() else query.filter(slug=ref).first()
    if event is None:
        raise ValidationFailed(details={"event": [_("Unknown event.")]})
    return event
