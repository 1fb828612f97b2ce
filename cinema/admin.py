"""Django admin of the cinema catalogue: readable lists of cities, cinemas,
halls, films and showings. Halls are made on the staff page (their layout,
drawn before saving), showings by the schedule import; a showing is
cancelled with its event's "Cancel event…" page, which refunds its buyers."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from django.contrib import admin, messages
from django.db.models import Count
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from cinema.models import Cinema, City, Film, Genre, Hall, Showing
from payments.cancellation import CANCEL_PERMISSIONS


@admin.register(City)
class CityAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "time_zone", "sort_order"]
    search_fields = ["name", "name_kk", "name_en", "slug"]


@admin.register(Cinema)
class CinemaAdmin(admin.ModelAdmin):
    list_display = ["name", "city", "hold_minutes", "refund_cutoff_minutes", "sales_close_minutes"]
    list_filter = ["city"]
    search_fields = ["name", "name_kk", "name_en", "slug", "address"]


@admin.register(Hall)
class HallAdmin(admin.ModelAdmin):
    list_display = ["name", "cinema", "code", "seats", "turnaround_minutes"]
    list_filter = ["cinema__city", "cinema"]
    list_select_related = ["cinema"]
    search_fields = ["name", "code", "cinema__name"]
    readonly_fields = ["venue"]

    def get_queryset(self, request):
        # The seat count in the list: one grouped query, not one per hall.
        return super().get_queryset(request).annotate(seat_count=Count("venue__sections__seats"))

    @admin.display(description=_("seats"), ordering="seat_count")
    def seats(self, hall: Hall) -> int:
        return hall.seat_count

    def has_add_permission(self, request) -> bool:
        return False  # a hall is its layout: /staff/cinema/halls/new/ draws it first

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "title": gettext("Halls")}
        if request.user.has_perm("cinema.add_hall"):
            messages.info(
                request,
                format_html(
                    '<a href="{}">{}</a>',
                    reverse("cinema_staff:hall_new"),
                    gettext("New hall from its layout…"),
                ),
            )
        return super().changelist_view(request, extra_context)


@admin.register(Genre)
class GenreAdmin(admin.ModelAdmin):
    list_display = ["name", "slug"]
    search_fields = ["name", "name_kk", "name_en", "slug"]


@admin.register(Film)
class FilmAdmin(admin.ModelAdmin):
    list_display = ["title", "age_rating", "duration_minutes", "release_date"]
    list_filter = ["age_rating", "genres"]
    search_fields = ["title", "title_kk", "title_en", "slug"]
    filter_horizontal = ["genres"]
    readonly_fields = ["production"]


@admin.action(
    description=_("Cancel showing… (stop the sale, refund every buyer)"),
    permissions=["cancel"],
)
def cancel_showing(modeladmin, request, queryset):
    """Nothing is cancelled here: it opens the showing's event's confirmation page."""
    if queryset.count() != 1:
        modeladmin.message_user(
            request, _("Choose exactly one showing to cancel."), messages.WARNING
        )
        return None
    return redirect(reverse("admin:events_event_cancel", args=[queryset.get().pk]))


@admin.register(Showing)
class ShowingAdmin(admin.ModelAdmin):
    list_display = ["film", "cinema", "hall", "local_start", "format", "language", "cancelled"]
    list_filter = ["cancelled", "city", "cinema", "format", "language"]
    search_fields = ["film__title", "cinema__name", "event__slug"]
    date_hierarchy = "starts_at"
    list_select_related = ["film", "cinema", "hall"]
    actions = [cancel_showing]
    # Times, hall and film belong to the event and the import: read here.
    readonly_fields = ["event_link", "film", "hall", "cinema", "city", "starts_at", "ends_at",
                       "cancelled"]  # fmt: skip
    exclude = ["event"]

    @admin.display(description=_("starts at"), ordering="starts_at")
    def local_start(self, showing: Showing) -> str:
        local = showing.starts_at.astimezone(ZoneInfo(showing.cinema.time_zone))
        return f"{local:%d.%m.%Y %H:%M}"

    @admin.display(description=_("event"))
    def event_link(self, showing: Showing) -> str:
        url = reverse("admin:events_event_change", args=[showing.pk])
        return format_html('<a href="{}">{}</a>', url, showing.event.slug)

    def has_add_permission(self, request) -> bool:
        return False  # showings come from the schedule import (or showing_create)

    def has_cancel_permission(self, request) -> bool:
        return request.user.has_perms(CANCEL_PERMISSIONS)
