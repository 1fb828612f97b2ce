from __future__ import annotations

from django.urls import path

from payments import views

app_name = "orders_payments"
urlpatterns = [
    path("orders/<str:code>/", views.order_page, name="order_page"),
    path("orders/<str:code>/pay/", views.pay_start, name="pay_start"),
    path("orders/<str:code>/return/", views.order_return, name="order_return"),
    path("orders/<str:code>/refund/", views.order_refund_page, name="order_refund"),
    path("orders/<str:code>/tickets/<str:ticket_code>.svg", views.ticket_qr, name="ticket_qr"),
]
