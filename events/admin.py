"""Staff admin of the catalogue. Stock never changes here except through events.services."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import Count
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _

from events.exceptions import LayoutSpecInvalid
from events.forms import VenueSpecForm
from events.models import Event, EventSeat, PriceTier, SalePhase, Section, StandingArea, Venue
from events.services import (
    event_inventory_create,
    eventseat_block,
    eventseat_unblock,
    venue_create_from_spec,
)
from ticketing.errors import KassaError


class SectionInline(admin.TabularInline):
    model = Section
    fields = ["code", "name", "name_kk", "name_en", "kind", "capacity", "tier_key", "seat_count"]
    # The layout is fixed once generated; staff correct and translate names here.
    readonly_fields = ["code", "kind", "capacity", "tier_key", "seat_count"]
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(seat_total=Count("seats"))

    @admin.display(description=_("seats"))
    def seat_count(self, obj):
        return obj.seat_total


@admin.register(Venue)
class VenueAdmin(admin.ModelAdmin):
    list_display = ["name", "name_kk", "name_en", "slug", "city", "time_zone"]
    search_fields = ["name", "name_kk", "name_en", "slug", "city"]
    fieldsets = [
        (None, {"fields": ["slug", "time_zone", "map_width", "map_height"]}),
        (
            _("Names buyers read (Russian, Kazakh, English)"),
            {
                "fields": [
                    ("name", "name_kk", "name_en"),
                    ("city", "city_kk", "city_en"),
                    ("address", "address_kk", "address_en"),
                ]
            },
        ),
        (None, {"fields": ["layout_spec"]}),
    ]
    readonly_fields = ["layout_spec"]
    inlines = [SectionInline]
    change_list_template = "admin/events/venue/change_list.html"

    def get_urls(self):
        view = self.admin_site.admin_view(self.from_spec_view)
        return [path("from-spec/", view, name="events_venue_from_spec"), *super().get_urls()]

    def from_spec_view(self, request):
        if not self.has_add_permission(request):
            return redirect("admin:index")
        form = VenueSpecForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            try:
                venue = venue_create_from_spec(spec=form.cleaned_data["spec"])
            except LayoutSpecInvalid as exc:
                for key, problems in exc.details.items():
                    form.add_error(None, f"{key}: {'; '.join(problems)}")
            else:
                messages.success(request, _("Venue “%(venue)s” is ready.") % {"venue": venue})
                return redirect(reverse("admin:events_venue_change", args=[venue.pk]))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "form": form,
            "title": _("Create a venue from a layout spec"),
        }
        return render(request, "admin/events/venue/from_spec.html", context)


@admin.register(Section)
class SectionAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "name_kk", "name_en", "venue", "kind", "capacity", "tier_key"]
    list_filter = ["venue", "kind"]
    search_fields = ["code", "name", "name_kk", "name_en"]
    list_select_related = ["venue"]


class PriceTierInline(admin.TabularInline):
    model = PriceTier
    fields = ["key", "name", "name_kk", "name_en", "price", "colour", "sort_order"]
    extra = 0


class SalePhaseInline(admin.StackedInline):
    model = SalePhase
    extra = 0
    fields = [
        ("name", "starts_at", "ends_at"),
        "channels",
        ("card_brands", "card_bin_prefixes"),
        "access_codes",
        ("per_buyer_limit", "requires_waiting_room"),
    ]


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ["title", "venue", "starts_at", "status"]
    list_filter = ["status", "venue"]
    search_fields = ["title", "slug"]
    prepopulated_fields = {"slug": ["title"]}
    fields = [
        ("title", "slug"),
        "venue",
        ("starts_at", "doors_at", "time_zone"),
        ("currency", "status"),
        "description",
        "description_kk",
        "description_en",
        "poster",
        "inventory_counts",
    ]
    list_select_related = ["venue"]
    readonly_fields = ["inventory_counts"]
    inlines = [PriceTierInline, SalePhaseInline]
    actions = ["create_inventory"]

    @admin.display(description=_("inventory per section"))
    def inventory_counts(self, obj):
        if obj is None or obj.pk is None:
            return "—"
        rows = (
            EventSeat.objects.filter(event=obj)
            .values("section__code", "section__name", "status")
            .annotate(n=Count("id"))
            .order_by("section__sort_order", "section__code", "status")
        )
        table: dict[tuple[str, str], dict[str, int]] = {}
        for r in rows:
            table.setdefault((r["section__code"], r["section__name"]), {})[r["status"]] = r["n"]
        for area in StandingArea.objects.filter(event=obj).select_related("section"):
            table[(area.section.code, area.section.name)] = {
                "available": area.available,
                "held": area.held,
                "sold": area.sold,
                "capacity": area.capacity,
            }
        statuses = [*EventSeat.Status.values, "capacity"]
        rows_out = [
            (f"{code} — {name}", [counts.get(st, "") for st in statuses])
            for (code, name), counts in table.items()
        ]
        return render_to_string(
            "admin/events/event/inventory_counts.html", {"rows": rows_out, "statuses": statuses}
        )

    @admin.action(description=_("Create inventory (seats and standing areas) for the events"))
    def create_inventory(self, request, queryset):
        for event in queryset:
            try:
                counts = event_inventory_create(event=event)
            except KassaError as exc:
                self.message_user(request, f"{event}: {exc.message} {exc.details}", messages.ERROR)
            else:
                self.message_user(request, f"{event}: {counts}", messages.SUCCESS)


@admin.register(EventSeat)
class EventSeatAdmin(admin.ModelAdmin):
    list_display = ["id", "event", "section", "row", "number", "tier", "status", "held_until"]
    list_filter = ["status", "event", "section", "tier"]
    list_select_related = ["event", "section", "tier", "seat"]
    readonly_fields = [f.name for f in EventSeat._meta.fields]
    search_fields = ["=id", "=hold_id", "=order_id"]
    show_full_result_count = False
    list_per_page = 200
    actions = ["block", "unblock"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("row"), ordering="seat__row_index")
    def row(self, obj):
        return obj.seat.row_label

    @admin.display(description=_("seat"), ordering="seat__number")
    def number(self, obj):
        return obj.seat.number

    @admin.action(description=_("Block the selected seats (only free ones move)"))
    def block(self, request, queryset):
        ids = list(queryset.values_list("pk", flat=True))
        moved = eventseat_block(event_seat_ids=ids, actor=request.user)
        message = _("%(moved)d of %(n)d seats blocked.") % {"moved": moved, "n": len(ids)}
        self.message_user(request, message)

    @admin.action(description=_("Unblock the selected seats"))
    def unblock(self, request, queryset):
        ids = list(queryset.values_list("pk", flat=True))
        moved = eventseat_unblock(event_seat_ids=ids, actor=request.user)
        message = _("%(moved)d of %(n)d seats unblocked.") % {"moved": moved, "n": len(ids)}
        self.message_user(request, message)


@admin.register(StandingArea)
class StandingAreaAdmin(admin.ModelAdmin):
    list_display = ["event", "section", "tier", "capacity", "held", "sold", "available"]
    list_filter = ["event"]
    list_select_related = ["event", "section", "tier"]
    readonly_fields = ["event", "section", "tier", "capacity", "held", "sold"]

    def has_add_permission(self, request):
        return False
