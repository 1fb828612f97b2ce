"""ticketing.urls plus a view that crashes, for the 500 page test (handlers come from here)."""

from __future__ import annotations

from django.urls import path

from ticketing.urls import handler400, handler404, handler500, urlpatterns  # noqa: F401


def crash(request):
    raise RuntimeError("boom")


def uses_cache(request):
    from django.core.cache import cache

    cache.get("anything")  # raises when Redis does not answer


urlpatterns = [
    path("test-crash/", crash),
    path("test-cache/", uses_cache),
    path("api/v1/test-cache/", uses_cache),
    *urlpatterns,
]
