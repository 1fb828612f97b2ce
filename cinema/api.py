"""REST API of the cinema side: the schedule (showings by city and date with
filters, cursor pages), films, cinemas with their halls, cities; and the
schedule import for a cinema's own system (scope `schedule`).

A showing is an Event: its holds, orders and seat availability are the
events' endpoints (`events/{slug}/availability/`, `holds/`, `orders/`).
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from django.core.cache import cache
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from api.pagination import KassaCursorPagination
from api.permissions import HasScope, RequiresScope, partner_key
from api.schema import error_responses
from cinema import selectors
from cinema.imports import schedule_import, schedule_lines_from_rows
from cinema.models import Showing

CATALOG = HasScope.of("catalog")
SCHEDULE = RequiresScope.of("schedule", staff_permission="cinema.add_showing")
DATE_HELP = "a local date YYYY-MM-DD, `today` (default), `tomorrow` or `week` (7 days from today)"


# --- input ------------------------------------------------------------------


class ScheduleFilterIn(serializers.Serializer):
    city = serializers.SlugField(help_text="city slug")
    date = serializers.CharField(required=False, default="today", help_text=DATE_HELP)
    film = serializers.SlugField(required=False, default="")
    cinema = serializers.SlugField(required=False, default="")
    # Not `format`: DRF reads ?format= as the response format (URL_FORMAT_OVERRIDE).
    film_format = serializers.ChoiceField(
        choices=Showing.Format.choices, required=False, default=""
    )
    language = serializers.ChoiceField(choices=Showing.Language.choices, required=False, default="")
    time_of_day = serializers.ChoiceField(
        choices=list(selectors.TIMES_OF_DAY), required=False, default=""
    )

    def validate(self, attrs):
        city = selectors.city_by_slug(attrs["city"])
        if city is None:
            raise serializers.ValidationError({"city": [_("Unknown city.")]})
        day, days = selectors.schedule_days(city, attrs["date"])
        if day is None:
            raise serializers.ValidationError({"date": [_("Not a date (YYYY-MM-DD).")]})
        return selectors.ScheduleQuery(
            city=city,
            day=day,
            days=days,
            film=attrs["film"],
            cinema=attrs["cinema"],
            format=attrs["film_format"],
            language=attrs["language"],
            time_of_day=attrs["time_of_day"],
        )


class CityIn(serializers.Serializer):
    city = serializers.SlugField(required=False, help_text="city slug")


class ScheduleImportIn(serializers.Serializer):
    showings = serializers.ListField(
        child=serializers.JSONField(),
        allow_empty=False,
        help_text=(
            "one object per showing: `{cinema, hall, film, start, format?, language?, "
            "subtitles?, prices: {seat kind: price}, ticket_types?: {child|student|senior: "
            "{seat kind: price}}}`; `start` is the cinema's local time (YYYY-MM-DD HH:MM); "
            "line N in the error details is the N-th object"
        ),
    )


# --- output -----------------------------------------------------------------


class FilmRefOut(serializers.Serializer):
    slug = serializers.CharField()
    title = serializers.CharField(source="localized_title")
    duration_minutes = serializers.IntegerField()
    age_rating = serializers.CharField()


class CinemaRefOut(serializers.Serializer):
    slug = serializers.CharField()
    name = serializers.CharField(source="localized_name")


class HallRefOut(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField(source="localized_name")


class ShowingOut(serializers.Serializer):
    id = serializers.IntegerField(source="event_id", help_text="the event's id")
    event = serializers.CharField(source="event.slug", help_text="the event's slug")
    url = serializers.CharField(source="event.get_absolute_url", help_text="the buyer page")
    film = FilmRefOut()
    cinema = CinemaRefOut()
    hall = HallRefOut()
    starts_at = serializers.DateTimeField(help_text="in the cinema's time zone")
    ends_at = serializers.DateTimeField()
    format = serializers.CharField()
    language = serializers.CharField()
    subtitles = serializers.CharField()
    available = serializers.IntegerField(source="seats.available", help_text="seats left")
    capacity = serializers.IntegerField(source="seats.capacity")
    sold_out = serializers.BooleanField(source="seats.sold_out")
    few_left = serializers.BooleanField(source="seats.few_left", help_text="few seats left")

    def to_representation(self, instance):
        with timezone.override(ZoneInfo(instance.cinema.time_zone)):
            return super().to_representation(instance)


class FilmOut(FilmRefOut):
    synopsis = serializers.CharField(source="localized_synopsis")
    release_date = serializers.DateField(allow_null=True)
    url = serializers.CharField(source="get_absolute_url")


class HallOut(HallRefOut):
    turnaround_minutes = serializers.IntegerField()


class CinemaOut(CinemaRefOut):
    city = serializers.CharField(source="city.slug")
    address = serializers.CharField(source="address_line")
    time_zone = serializers.CharField()
    hold_minutes = serializers.IntegerField()
    refund_cutoff_minutes = serializers.IntegerField()
    halls = HallOut(many=True)


class CityOut(serializers.Serializer):
    slug = serializers.CharField()
    name = serializers.CharField(source="localized_name")
    time_zone = serializers.CharField()


class ImportOut(serializers.Serializer):
    created = serializers.IntegerField(help_text="showings created")
    seats = serializers.IntegerField(help_text="seat rows created")
    by_cinema = serializers.DictField(child=serializers.DictField(child=serializers.IntegerField()))
    failed = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text="cinemas rolled back whole because their halls changed during the import",
    )


# --- views ------------------------------------------------------------------


class ShowingPagination(KassaCursorPagination):
    ordering = ("starts_at", "pk")


class ShowingListApi(generics.ListAPIView):
    """The schedule; the page body is cached for SEATS_TTL seconds per query."""

    permission_classes = [CATALOG]
    pagination_class = ShowingPagination
    serializer_class = ShowingOut

    def get_queryset(self):
        return selectors.schedule_showings(self.query)

    @extend_schema(
        operation_id="cinema_showings_list",
        summary="The schedule of a city by date, with seats left per showing",
        parameters=[
            ScheduleFilterIn,
            OpenApiParameter("film_format", str, enum=Showing.Format.values),
            OpenApiParameter("language", str, enum=Showing.Language.values),
            OpenApiParameter(
                "time_of_day",
                str,
                enum=list(selectors.TIMES_OF_DAY),
                description="morning 6-12, day 12-17, evening 17-22, night 22-6",
            ),
        ],
        responses={200: ShowingOut(many=True), **error_responses(400, 403)},
    )
    def get(self, request, *args, **kwargs):
        params = ScheduleFilterIn(data=request.query_params)
        params.is_valid(raise_exception=True)
        self.query = params.validated_data
        key = selectors.schedule_api_key(self.query, request.get_full_path())
        body = cache.get(key)
        if body is None:
            page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
            seats = selectors.showing_seats([s.event_id for s in page])
            for showing in page:
                showing.seats = seats[showing.event_id]
            body = self.get_paginated_response(self.get_serializer(page, many=True).data).data
            cache.set(key, body, selectors.SEATS_TTL)
        return Response(body)


class FilmListApi(generics.ListAPIView):
    permission_classes = [CATALOG]
    pagination_class = type(
        "FilmPagination", (KassaCursorPagination,), {"ordering": ("title", "id")}
    )
    serializer_class = FilmOut

    def get_queryset(self):
        params = CityIn(data=self.request.query_params)
        params.is_valid(raise_exception=True)
        return selectors.film_list(city=_city(params.validated_data.get("city")))

    @extend_schema(
        operation_id="cinema_films_list",
        summary="Films with showings to come (in a city, when given)",
        parameters=[CityIn],
        responses={200: FilmOut(many=True), **error_responses(400, 403, 404)},
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class CinemaListApi(generics.ListAPIView):
    permission_classes = [CATALOG]
    pagination_class = type(
        "CinemaPagination", (KassaCursorPagination,), {"ordering": ("name", "id")}
    )
    serializer_class = CinemaOut

    def get_queryset(self):
        params = CityIn(data=self.request.query_params)
        params.is_valid(raise_exception=True)
        return selectors.cinema_list(city=_city(params.validated_data.get("city")))

    @extend_schema(
        operation_id="cinema_cinemas_list",
        summary="Cinemas with their halls and rules",
        parameters=[CityIn],
        responses={200: CinemaOut(many=True), **error_responses(400, 403, 404)},
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class CityListApi(APIView):
    permission_classes = [CATALOG]

    @extend_schema(
        operation_id="cinema_cities_list",
        summary="Cities with cinemas",
        responses={200: CityOut(many=True), **error_responses(403)},
    )
    def get(self, request):
        return Response(CityOut(selectors.city_list(), many=True).data)


class ScheduleImportApi(APIView):
    """All lines are checked first (any error: 400 `schedule_invalid`, details
    "line N" → messages, nothing written), then each cinema is written in its
    own transaction. A partner key imports only the cinemas it runs
    (Cinema.schedule_partner); staff with `cinema.add_showing` any."""

    permission_classes = [SCHEDULE]

    @extend_schema(
        operation_id="cinema_schedule_import",
        summary="Import a schedule (many showings at once)",
        request=ScheduleImportIn,
        responses={201: ImportOut, **error_responses(400, 403)},
    )
    def post(self, request):
        body = ScheduleImportIn(data=request.data)
        body.is_valid(raise_exception=True)
        key = partner_key(request)
        allowed = None if key is None else selectors.cinema_ids_of_partner(key.partner_id)
        report = schedule_import(
            lines=schedule_lines_from_rows(body.validated_data["showings"]),
            allowed_cinemas=allowed,
        )
        return Response(ImportOut(report.as_dict()).data, status=status.HTTP_201_CREATED)


def _city(slug: str | None):
    if not slug:
        return None
    city = selectors.city_by_slug(slug)
    if city is None:
        raise Http404
    return city
