from __future__ import annotations

from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from api.api import MeView
from orders.payments.api import CheckinApi, OrderTicketsApi, PaymentCallbackApi, PaymentStartApi

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("orders/<int:order_id>/payments/", PaymentStartApi.as_view(), name="payment-start"),
    path("orders/<int:order_id>/tickets/", OrderTicketsApi.as_view(), name="order-tickets"),
    path("payments/<str:provider>/callback/", PaymentCallbackApi.as_view(), name="payment-cb"),
    path("checkin/", CheckinApi.as_view(), name="checkin"),
    path("me/", MeView.as_view(), name="api-me"),
]
