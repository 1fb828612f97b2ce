from __future__ import annotations

from django.urls import path

from orders.views import account, checkout, gate

app_name = "orders"
urlpatterns = [
    path("e/<slug:slug>/hold/", checkout.hold_create_page, name="hold_create_page"),
    path("checkout/<uuid:hold_id>/", checkout.checkout, name="checkout"),
    path("checkout/<uuid:hold_id>/release/", checkout.checkout_release, name="checkout_release"),
    path("account/tickets/", account.my_tickets, name="my_tickets"),
    path("gate/", gate.gate_page, name="gate"),
]
