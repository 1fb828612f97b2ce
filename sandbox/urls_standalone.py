"""The URLs of the gateway run as a process of its own (sandbox.settings)."""

from __future__ import annotations

from django.urls import include, path

from ticketing.views import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("sandbox.urls")),
]
