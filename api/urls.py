from __future__ import annotations

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from api.api import MeView, WebviewTokenApi
from cinema import api as cinema_api
from events import api as events_api
from orders.api import holds as holds_api
from orders.api import orders as orders_api
from partners import api as partners_api
from payments.api import (
    CheckinApi,
    CheckinOverrideApi,
    GateCountsApi,
    OrderTicketsApi,
    PaymentCallbackApi,
    PaymentConfirmApi,
    PaymentStartApi,
    SettlementApi,
)

urlpatterns = [
    # First: the waiting room's join and status are most of the API's calls in
    # an on-sale, and Django tries the patterns in order (no pattern here
    # overlaps another, so the order decides nothing else).
    path("", include("queueing.api_urls")),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # Split: Swagger UI's start-up script is a same-origin URL, not an inline
    # block the Content-Security-Policy would refuse.
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("orders/<int:order_id>/payments/", PaymentStartApi.as_view(), name="payment-start"),
    path("orders/<int:order_id>/tickets/", OrderTicketsApi.as_view(), name="order-tickets"),
    path(
        "orders/<int:order_id>/payments/<uuid:payment_id>/confirm/",
        PaymentConfirmApi.as_view(),
        name="payment-confirm",
    ),
    path("settlements/", SettlementApi.as_view(), name="settlements"),
    path("payments/<str:provider>/callback/", PaymentCallbackApi.as_view(), name="payment-cb"),
    path("checkin/", CheckinApi.as_view(), name="checkin"),
    path("checkin/override/", CheckinOverrideApi.as_view(), name="checkin-override"),
    path("checkin/gates/<slug:slug>/", GateCountsApi.as_view(), name="checkin-gates"),
    path("me/", MeView.as_view(), name="api-me"),
    path("webview/tokens/", WebviewTokenApi.as_view(), name="webview-tokens"),
    # holds and orders
    path("holds/", holds_api.HoldCreateApi.as_view(), name="hold-create"),
    path("holds/<uuid:hold_id>/", holds_api.HoldDetailApi.as_view(), name="hold-detail"),
    path("orders/", orders_api.OrderCreateApi.as_view(), name="order-create"),
    path("orders/<int:order_id>/", orders_api.OrderDetailApi.as_view(), name="order-detail"),
    path("orders/<int:order_id>/cancel/", orders_api.OrderCancelApi.as_view(), name="order-cancel"),
    # --- events (catalogue) ---
    path("events/", events_api.EventListApi.as_view(), name="events-list"),
    path("events/<slug:slug>/", events_api.EventDetailApi.as_view(), name="events-detail"),
    path(
        "events/<slug:slug>/availability/",
        events_api.EventAvailabilityApi.as_view(),
        name="events-availability",
    ),
    # --- cinema (schedule) ---
    path("cinema/showings/", cinema_api.ShowingListApi.as_view(), name="cinema-showings"),
    path("cinema/films/", cinema_api.FilmListApi.as_view(), name="cinema-films"),
    path("cinema/cinemas/", cinema_api.CinemaListApi.as_view(), name="cinema-cinemas"),
    path("cinema/cities/", cinema_api.CityListApi.as_view(), name="cinema-cities"),
    path("cinema/schedule/", cinema_api.ScheduleImportApi.as_view(), name="cinema-schedule-import"),
    # partner webhooks
    path("webhooks/endpoints/", partners_api.EndpointListApi.as_view(), name="webhook-endpoints"),
    path(
        "webhooks/endpoints/<int:endpoint_id>/",
        partners_api.EndpointDetailApi.as_view(),
        name="webhook-endpoint",
    ),
    path(
        "webhooks/endpoints/<int:endpoint_id>/rotate-secret/",
        partners_api.EndpointRotateApi.as_view(),
        name="webhook-endpoint-rotate",
    ),
    path(
        "webhooks/deliveries/",
        partners_api.DeliveryListApi.as_view(),
        name="webhook-deliveries",
    ),
    path(
        "webhooks/deliveries/<uuid:delivery_id>/replay/",
        partners_api.DeliveryReplayApi.as_view(),
        name="webhook-delivery-replay",
    ),
]
