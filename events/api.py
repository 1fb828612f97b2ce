"""REST API of the catalogue (API.md): event list, event detail, availability.

Scope `catalog` for partner keys; anonymous and session callers pass.
"""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

from django.core.cache import cache
from django.db.models import Min, Q
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
)
from rest_framework import generics, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.selectors import buyer_identity
from api.pagination import KassaCursorPagination
from api.permissions import HasScope
from api.schema import ErrorSerializer
from events.models import Event, Section
from events.selectors import (
    AVAILABILITY_TTL,
    availability_body_key,
    event_availability,
    event_detail,
    event_list_public,
    sale_snapshot,
    section_of_event,
    section_seats,
)

CATALOG = HasScope.of("catalog")


# --- output -----------------------------------------------------------------
# The one error body component of the API (api/schema.py).
CatalogueError = ErrorSerializer


ERRORS = {
    401: OpenApiResponse(CatalogueError, description="Unknown or revoked API key"),
    403: OpenApiResponse(CatalogueError, description="API key lacks the `catalog` scope"),
}


class EventLocalSerializer(serializers.Serializer):
    """Renders every datetime below it in the event's own time zone (ISO 8601 with offset)."""

    def to_representation(self, instance):
        with timezone.override(ZoneInfo(instance.time_zone)):
            return super().to_representation(instance)


class NamesOut(serializers.Serializer):
    """A name in each site language (`name` stays the Russian one, the base)."""

    ru = serializers.CharField()
    kk = serializers.CharField()
    en = serializers.CharField()


NAMES_HELP = "the name in ru, kk and en (a missing translation repeats the Russian name)"


class VenueOut(serializers.Serializer):
    id = serializers.IntegerField()
    slug = serializers.CharField()
    name = serializers.CharField()
    names = NamesOut(help_text=NAMES_HELP)
    city = serializers.CharField()
    time_zone = serializers.CharField()


class EventListOut(EventLocalSerializer):
    id = serializers.IntegerField()
    slug = serializers.CharField()
    title = serializers.CharField()
    venue = VenueOut()
    starts_at = serializers.DateTimeField()
    doors_at = serializers.DateTimeField(allow_null=True)
    time_zone = serializers.CharField()
    currency = serializers.CharField()
    status = serializers.ChoiceField(choices=Event.Status.choices)
    min_price = serializers.DecimalField(
        max_digits=12, decimal_places=2, allow_null=True, help_text="lowest tier price"
    )
    url = serializers.CharField(source="get_absolute_url", help_text="the buyer page")


class TierOut(serializers.Serializer):
    id = serializers.IntegerField()
    key = serializers.CharField()
    name = serializers.CharField()
    names = NamesOut(help_text=NAMES_HELP)
    price = serializers.DecimalField(max_digits=12, decimal_places=2)
    currency = serializers.CharField(source="event.currency")
    colour = serializers.CharField()


class PhaseOut(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    open_now = serializers.SerializerMethodField()
    channels = serializers.ListField(child=serializers.CharField())
    card_brands = serializers.ListField(child=serializers.CharField())
    card_bin_prefixes = serializers.ListField(child=serializers.CharField())
    access_code_required = serializers.SerializerMethodField()
    per_buyer_limit = serializers.IntegerField()
    requires_waiting_room = serializers.BooleanField()

    def get_open_now(self, phase) -> bool:
        return phase.is_open()

    def get_access_code_required(self, phase) -> bool:
        return bool(phase.access_codes)


class SectionOut(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField()
    name = serializers.CharField()
    names = NamesOut(help_text=NAMES_HELP)
    kind = serializers.ChoiceField(choices=Section.Kind.choices)
    capacity = serializers.IntegerField(allow_null=True, help_text="standing sections only")


class TicketTypePriceOut(serializers.Serializer):
    tier = serializers.IntegerField()
    price = serializers.DecimalField(
        max_digits=12, decimal_places=2, allow_null=True, help_text="null: not sold in this tier"
    )


class TicketTypeOut(serializers.Serializer):
    key = serializers.CharField(help_text="what POST orders/ takes in `ticket_types`")
    name = serializers.CharField()
    names = NamesOut(help_text=NAMES_HELP)
    requires_document = serializers.BooleanField(
        help_text="a document (student or pension card) is shown at the door"
    )
    prices = serializers.SerializerMethodField(help_text="the price per tier")

    @extend_schema_field(TicketTypePriceOut(many=True))
    def get_prices(self, ticket_type) -> list[dict]:
        own = {p.tier_id: p.price for p in ticket_type.prices.all()}
        tiers = ticket_type.event.tiers.all()
        return [{"tier": t.pk, "price": own.get(t.pk, t.price)} for t in tiers]


class EventDetailOut(EventListOut):
    description = serializers.CharField()
    tiers = TierOut(many=True, source="tiers.all")
    ticket_types = TicketTypeOut(
        many=True,
        source="ticket_types.all",
        help_text="who a seat's ticket may be for (a showing's adult, child, ...); empty: none",
    )
    phases = PhaseOut(many=True, source="phases.all")
    sections = SectionOut(many=True, source="venue.sections.all")
    waiting_room = serializers.SerializerMethodField(
        help_text="waiting-room summary (null while the queueing app reports none)"
    )

    @extend_schema_field(serializers.DictField(allow_null=True))
    def get_waiting_room(self, event) -> dict | None:
        return None


SEAT_ROW = {
    "type": "array",
    "description": "[id, row, number, x, y, tier, status]",
    "items": {"anyOf": [{"type": "integer"}, {"type": "number"}, {"type": "string"}]},
    "minItems": 7,
    "maxItems": 7,
}


@extend_schema_field({"type": "array", "items": SEAT_ROW})
class SeatRowsField(serializers.ListField):
    pass


class TierCountOut(serializers.Serializer):
    tier = serializers.IntegerField()
    available = serializers.IntegerField()
    price = serializers.DecimalField(max_digits=12, decimal_places=2)


class SectionAvailabilityOut(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField()
    name = serializers.CharField()
    names = NamesOut(help_text=NAMES_HELP)
    kind = serializers.ChoiceField(choices=Section.Kind.choices)
    available = serializers.IntegerField()
    min_price = serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True)
    tiers = TierCountOut(many=True)


class TierAvailabilityOut(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    names = NamesOut(help_text=NAMES_HELP)
    price = serializers.DecimalField(max_digits=12, decimal_places=2)
    available = serializers.IntegerField()


class AvailabilityOut(serializers.Serializer):
    event = serializers.CharField(help_text="event slug")
    currency = serializers.CharField()
    available = serializers.IntegerField(help_text="all free places (seats + standing)")
    min_price = serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True)
    sections = SectionAvailabilityOut(many=True)
    tiers = TierAvailabilityOut(many=True)
    seats = SeatRowsField(required=False, help_text="only with ?section=ID (seated)")


# --- input ------------------------------------------------------------------
class DateOrDateTimeField(serializers.Field):
    default_error_messages = {"invalid": _("Use an ISO 8601 date or date-time.")}

    def to_internal_value(self, data):
        text = str(data)
        try:
            # parse_* return None for a wrong shape and raise for impossible values.
            value = parse_datetime(text) if len(text) > 10 else None
            if value is None:
                day = parse_date(text) if len(text) == 10 else None
                if day is None:
                    self.fail("invalid")
                value = datetime.combine(day, time.min)
        except (ValueError, OverflowError):
            self.fail("invalid")
        try:
            value = timezone.make_aware(value) if timezone.is_naive(value) else value
            # Python allows offsets up to ±24 h, PostgreSQL only ±15:59: send UTC.
            return value.astimezone(UTC)
        except (ValueError, OverflowError):
            self.fail("invalid")


class EventFilterIn(serializers.Serializer):
    def get_fields(self):
        return {
            "q": serializers.CharField(required=False, max_length=100),
            "venue": serializers.CharField(required=False, max_length=50),
            "from": DateOrDateTimeField(required=False),
            "to": DateOrDateTimeField(required=False),
        }


class AvailabilityIn(serializers.Serializer):
    section = serializers.IntegerField(required=False, min_value=1)


# --- views ------------------------------------------------------------------
class EventPagination(KassaCursorPagination):
    ordering = ("starts_at", "id")


class EventListApi(generics.ListAPIView):
    permission_classes = [CATALOG]
    pagination_class = EventPagination
    serializer_class = EventListOut

    def get_queryset(self):
        params = EventFilterIn(data=self.request.query_params)
        params.is_valid(raise_exception=True)
        f = params.validated_data
        qs = event_list_public().annotate(min_price=Min("tiers__price"))
        if f.get("q"):
            qs = qs.filter(Q(title__icontains=f["q"]) | Q(venue__name__icontains=f["q"]))
        if f.get("venue"):
            venue = f["venue"]
            by_id = venue.isascii() and venue.isdigit()  # "²".isdigit(), but not int("²")
            qs = qs.filter(venue_id=int(venue)) if by_id else qs.filter(venue__slug=venue)
        if f.get("from"):
            qs = qs.filter(starts_at__gte=f["from"])
        if f.get("to"):
            qs = qs.filter(starts_at__lt=f["to"])
        return qs

    @extend_schema(
        operation_id="events_list",
        summary="Events on sale and upcoming",
        parameters=[
            OpenApiParameter("q", str, description="text in the title or venue name"),
            OpenApiParameter("from", OpenApiTypes.DATETIME, description="starts at or after"),
            OpenApiParameter("to", OpenApiTypes.DATETIME, description="starts before"),
            OpenApiParameter("venue", str, description="venue slug or id"),
        ],
        responses={200: EventListOut(many=True), 400: CatalogueError, **ERRORS},
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class EventDetailApi(APIView):
    permission_classes = [CATALOG]

    @extend_schema(
        operation_id="events_retrieve",
        summary="One event: venue, times, tiers, sale phases",
        responses={200: EventDetailOut, 404: CatalogueError, **ERRORS},
    )
    def get(self, request, slug: str):
        event = event_detail(slug)
        event.min_price = min((t.price for t in event.tiers.all()), default=None)
        return Response(EventDetailOut(event).data)


def availability_payload(*, event: Event, section_id: int | None, channel: str = "web") -> dict:
    """The availability selector's counts shaped for the API, as `channel`
    sees them (its allocations count; other channels' do not)."""
    counts = event_availability(event=event, channel=channel)
    tiers = {t.pk: t for t in event.tiers.all()}
    sections = []
    for section in Section.objects.filter(venue_id=event.venue_id):
        sec = counts["sections"].get(section.pk, {"available": 0, "min_price": None, "tiers": {}})
        sections.append(
            {
                "id": section.pk,
                "code": section.code,
                "name": section.name,
                "names": section.names,
                "kind": section.kind,
                "available": sec["available"],
                "min_price": sec["min_price"],
                "tiers": [
                    {"tier": tier_id, "available": n, "price": tiers[tier_id].price}
                    for tier_id, n in sec["tiers"].items()
                    if tier_id in tiers
                ],
            }
        )
    free = [tiers[t].price for t, c in counts["tiers"].items() if c["available"] and t in tiers]
    data = {
        "event": event.slug,
        "currency": event.currency,
        "available": counts["total"],
        "min_price": min(free, default=None),
        "sections": sections,
        "tiers": [
            {
                "id": t.pk,
                "name": t.name,
                "names": t.names,
                "price": t.price,
                "available": counts["tiers"].get(t.pk, {}).get("available", 0),
            }
            for t in tiers.values()
        ],
    }
    if section_id is not None:
        section = section_of_event(event=event, section_id=section_id)
        data["seats"] = section_seats(event=event, section_id=section.pk, channel=channel)
    return data


class EventAvailabilityApi(APIView):
    permission_classes = [CATALOG]

    @extend_schema(
        operation_id="events_availability",
        summary="Free places per section and tier (cached ~1 s); ?section=ID adds its seats",
        parameters=[OpenApiParameter("section", int, description="a section id of this venue")],
        responses={200: AvailabilityOut, 400: CatalogueError, 404: CatalogueError, **ERRORS},
    )
    def get(self, request, slug: str):
        params = AvailabilityIn(data=request.query_params)
        params.is_valid(raise_exception=True)
        section_id = params.validated_data.get("section")
        # The whole answer is cached as long as the counts under it (~1 s):
        # buyers looking at the map during an on-sale cost one Redis GET, not
        # the event, tiers, sections and seats queries. Unknown events and
        # sections are never cached (they raise below).
        channel = buyer_identity(request).channel
        sale = sale_snapshot(slug)
        body = (
            cache.get(availability_body_key(sale.event.pk, section_id, channel)) if sale else None
        )
        if body is None:
            event = event_detail(slug)
            payload = availability_payload(event=event, section_id=section_id, channel=channel)
            body = dict(AvailabilityOut(payload).data)
            cache.set(availability_body_key(event.pk, section_id, channel), body, AVAILABILITY_TTL)
        return Response(body)
