"""Shared pieces of the holds/orders API: the error body for the schema, event lookup."""

from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse

from api.schema import ErrorSerializer
from events.models import Event
from events.selectors import sale_snapshot
from orders.exceptions import EventNotFound

# The one error body component of the API (api/schema.py).
ErrorBody = ErrorSerializer


def error(description: str) -> OpenApiResponse:
    return OpenApiResponse(ErrorBody, description=description)


def event_from_ref(ref: str) -> Event:
    """An event by id or slug; unknown → 404 event_not_found (a well-formed reference
    to nothing is not a validation error). From the per-process sale snapshot:
    no query on the hot path."""
    sale = sale_snapshot(ref)
    if sale is None:
        raise EventNotFound(details={"event": [_("Unknown event.")]})
    return sale.event
