from __future__ import annotations

from django.urls import path

from queueing import views

app_name = "queueing"
urlpatterns = [
    path("e/<slug:slug>/queue/", views.queue_page, name="queue"),
]
