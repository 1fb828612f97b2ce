from __future__ import annotations

from django.urls import path

from events import views

app_name = "events"
urlpatterns = [
    path("", views.event_list, name="event_list"),
    path("e/<slug:slug>/", views.event_page, name="event_page"),
    path("e/<slug:slug>/s/<int:section_id>/", views.section_page, name="section_page"),
]
