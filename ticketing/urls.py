from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from api import views as api_views
from ticketing import metrics, views

urlpatterns = [
    # First: the API carries the crowd's calls (the waiting room's join and
    # status); no other pattern here matches a path under api/v1/.
    path("api/v1/", include("api.urls")),
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("metrics", metrics.metrics_view, name="metrics"),
    path("favicon.ico", views.favicon, name="favicon"),
    path("admin/", admin.site.urls),
    path("staff/sales/", include("sales.urls")),
    path("staff/cinema/", include("cinema.staff_urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("account/", include("accounts.urls")),
    # A partner's app opens its webview here (api.views.webview_start).
    path("webview/", api_views.webview_start, name="webview-start"),
    path("", include("queueing.urls")),
    path("", include("orders.urls")),
    path("", include("payments.urls")),
    path("", include("cinema.urls")),
    path("", include("events.urls")),
]
if settings.SANDBOX_SERVES:  # the acquirer in this process (settings: SANDBOX_URL)
    urlpatterns.append(path("", include("sandbox.urls")))

# JSON error bodies under /api/ (API.md), the branded pages (templates/4xx.html, 500.html)
# elsewhere.
handler404 = "api.exceptions.handler404"
handler500 = "api.exceptions.handler500"
handler400 = "ticketing.views.bad_request"
