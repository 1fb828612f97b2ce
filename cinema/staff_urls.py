from __future__ import annotations

from django.urls import path

from cinema import staff_views

app_name = "cinema_staff"
urlpatterns = [
    path("halls/new/", staff_views.hall_new, name="hall_new"),
]
