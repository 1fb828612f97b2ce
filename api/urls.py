from __future__ import annotations

from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from events import api as events_api

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    # --- events (catalogue) ---
    path("events/", events_api.EventListApi.as_view(), name="events-list"),
    path("events/<slug:slug>/", events_api.EventDetailApi.as_view(), name="events-detail"),
    path(
        "events/<slug:slug>/availability/",
        events_api.EventAvailabilityApi.as_view(),
        name="events-availability",
    ),
]
