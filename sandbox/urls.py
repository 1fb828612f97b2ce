from __future__ import annotations

from django.urls import path

from sandbox import views

app_name = "sandbox"
urlpatterns = [
    path("sandbox-gateway/pay/<uuid:payment_id>/", views.pay, name="pay"),
    path("sandbox-gateway/3ds/<uuid:payment_id>/", views.three_ds, name="three_ds"),
    path(
        "sandbox-gateway/api/payments/<uuid:payment_id>/",
        views.status_api,
        name="status_api",
    ),
    path(
        "sandbox-gateway/api/payments/<uuid:payment_id>/refunds/",
        views.refund_api,
        name="refund_api",
    ),
]
