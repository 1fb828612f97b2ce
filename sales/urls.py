from __future__ import annotations

from django.urls import path

from sales import views

app_name = "sales"
urlpatterns = [
    path("<slug:slug>/", views.console, name="console"),
    path("<slug:slug>/data/", views.console_data, name="console_data"),
    path("<slug:slug>/control/", views.room_control, name="room_control"),
    path(
        "<slug:slug>/allocations/<int:pk>/release/",
        views.allocation_release_view,
        name="allocation_release",
    ),
    path("<slug:slug>/report/", views.report, name="report"),
    path("<slug:slug>/report/report.pdf", views.report_pdf, name="report_pdf"),
    path("<slug:slug>/report/chart.svg", views.report_chart, name="report_chart"),
    path("<slug:slug>/report/<slug:name>.csv", views.report_csv, name="report_csv"),
]
