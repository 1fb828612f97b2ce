from __future__ import annotations

from django.urls import path

from cinema import views

app_name = "cinema"
urlpatterns = [
    path("cinema/", views.city_list, name="cities"),
    path("cinema/<slug:city>/", views.schedule, name="schedule"),
    path("staff/cinema/schedule/import/", views.schedule_upload, name="schedule_upload"),
]
