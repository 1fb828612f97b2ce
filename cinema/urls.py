from __future__ import annotations

from django.urls import path

from cinema import views

app_name = "cinema"
urlpatterns = [
    path("cinema/", views.city_list, name="cities"),
    path("cinema/<slug:city>/", views.schedule, name="schedule"),
    path("staff/cinema/schedule/import/", views.schedule_upload, name="schedule_upload"),
    path("films/", views.film_list, name="film_list"),
    path("films/<slug:slug>/", views.film_page, name="film_page"),
    path("films/<slug:slug>/poster/", views.film_poster, name="film_poster"),
]
