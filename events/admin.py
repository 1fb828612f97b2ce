"""Staff admin of the catalogue. Stock never changes here except through events.services."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import path, reverse
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from events.exceptions import InventoryTierMissing, LayoutSpecInvalid
from events.forms import (
    AllocationForm,
    EventDuplicateForm,
    PriceTierForm,
    SalePhaseForm,
    VenueSpecForm,
    venue_tier_keys,
)
from events.models import (
    Allocation,
    Event,
    EventSeat,
    PriceTier,
    SalePhase,
    Section,
    StandingArea,
    Venue,
)
from events.selectors import allocation_counts
from events.services import (
    EVENT_CHANGE_FIELDS,
    allocation_release,
    event_check_status,
    event_duplicate,
    event_inventory_create,
    event_status_set,
    event_update,
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
    form = PriceTierForm
    fields = ["key", "name", "name_kk", "name_en", "price", "colour", "sort_order"]
    extra = 0

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        # The key is one of the venue's section tier keys (saved events; a new
        # event's venue is not known before its first save).
        keys = venue_tier_keys(obj.venue_id if obj else None)
        formset.form = type(
            "VenuePriceTierForm",
            (formset.form,),
            {"__init__": lambda self, *a, **kw: PriceTierForm.__init__(
                self, *a, venue_keys=keys, **kw
            )},
        )  # fmt: skip
        return formset


class SalePhaseInline(admin.StackedInline):
    model = SalePhase
    form = SalePhaseForm
    extra = 0
    fields = [
        ("name", "starts_at", "ends_at"),
        "channels",
        ("card_brands", "card_bin_prefixes"),
        "access_codes",
        ("per_buyer_limit", "requires_waiting_room"),
    ]


class EventForm(forms.ModelForm):
    class Meta:
        model = Event
        fields = ["status"]  # EventAdmin.fields decides which are shown

    def clean(self):
        data = super().clean()
        status = data.get("status")
        if self.instance.pk and status and status != self.instance.status:
            try:
                event_check_status(event=self.instance, status=status)
            except KassaError as exc:
                self.add_error("status", str(exc.message))
        elif not self.instance.pk and status == Event.Status.ON_SALE:
            self.add_error(
                "status",
                gettext(
                    "A new event has no inventory yet: save it as a "
                    "draft, create its inventory, then put it on sale."
                ),
            )
        return data


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    form = EventForm
    change_form_template = "admin/events/event/change_form.html"
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
    actions = ["create_inventory", "duplicate"]

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

    def save_model(self, request, obj, form, change):
        # The status, the start, the doors time and the venue move through
        # their services (audited, told to partners as `event.changed`, the
        # status refused without inventory, all under the event's lock); the
        # other fields save as usual.
        moved = [f for f in ("status", *EVENT_CHANGE_FIELDS) if change and f in form.changed_data]
        wanted = {f: getattr(obj, f) for f in moved}
        if moved:
            stored = Event.objects.get(pk=obj.pk)
            for field in moved:
                setattr(obj, field, getattr(stored, field))
        super().save_model(request, obj, form, change)
        if "status" in wanted:
            event_status_set(event=obj, status=wanted.pop("status"), actor=request.user)
        if wanted:
            event_update(event=obj, actor=request.user, **wanted)
        for field, value in {f: form.cleaned_data[f] for f in moved}.items():
            setattr(obj, field, value)

    @admin.action(
        description=_("Create inventory (seats and standing areas) for the events"),
        permissions=["change"],
    )
    def create_inventory(self, request, queryset):
        for event in queryset:
            try:
                counts = event_inventory_create(event=event)
            except InventoryTierMissing as exc:
                message = gettext(
                    "%(event)s: no price tier for the sections %(sections)s. Add tiers whose "
                    "key is these sections' tier key (%(keys)s), then run this again."
                ) % {
                    "event": event,
                    "sections": ", ".join(exc.details.get("sections", [])),
                    "keys": ", ".join(
                        sorted(
                            set(
                                Section.objects.filter(
                                    venue_id=event.venue_id,
                                    code__in=exc.details.get("sections", []),
                                ).values_list("tier_key", flat=True)
                            )
                        )
                    )
                    or "—",
                }
                self.message_user(request, message, messages.ERROR)
            except KassaError as exc:
                self.message_user(request, f"{event}: {exc.message}", messages.ERROR)
            else:
                self.message_user(request, _inventory_words(event, counts), messages.SUCCESS)

    @admin.action(description=_("Duplicate to another date…"), permissions=["add"])
    def duplicate(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(
                request, gettext("Choose exactly one event to duplicate."), messages.WARNING
            )
            return None
        return redirect(reverse("admin:events_event_duplicate", args=[queryset.get().pk]))

    def get_urls(self):
        view = self.admin_site.admin_view(self.duplicate_view)
        return [path("<int:pk>/duplicate/", view, name="events_event_duplicate"),
                *super().get_urls()]  # fmt: skip

    def duplicate_view(self, request, pk: int):
        """The copy's date and time (in the event's zone), address, blocked seats."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        event = get_object_or_404(Event, pk=pk)
        local = event.starts_at.astimezone(ZoneInfo(event.time_zone))
        form = EventDuplicateForm(
            request.POST or None,
            time_zone=event.time_zone,
            initial={"slug": f"{event.slug}-2", "starts_at": local.strftime("%Y-%m-%dT%H:%M")},
        )
        if request.method == "POST" and form.is_valid():
            try:
                copy = event_duplicate(
                    event=event,
                    starts_at=form.cleaned_data["starts_at"],
                    slug=form.cleaned_data["slug"],
                    copy_blocked=form.cleaned_data["copy_blocked"],
                    actor=request.user,
                )
            except KassaError as exc:
                form.add_error(None, str(exc.message))
            else:
                messages.success(
                    request,
                    gettext("“%(event)s” is copied to %(when)s as a draft: check it, then put it "
                            "on sale.") % {"event": copy, "when": _local_time(copy)},
                )  # fmt: skip
                return redirect(reverse("admin:events_event_change", args=[copy.pk]))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "form": form,
            "event": event,
            "when": _local_time(event),
            "title": gettext("Duplicate “%(event)s” to another date") % {"event": event},
        }
        return render(request, "admin/events/event/duplicate.html", context)


def _local_time(event: Event) -> str:
    local = event.starts_at.astimezone(ZoneInfo(event.time_zone))
    return f"{local:%Y-%m-%d %H:%M} ({event.time_zone})"


def _inventory_words(event: Event, counts: dict[str, int]) -> str:
    """The inventory build's counts as a sentence, not a dict."""
    made = ngettext(
        "%(event)s: %(seats)d seat created",
        "%(event)s: %(seats)d seats created",
        counts["seats_created"],
    ) % {"event": event, "seats": counts["seats_created"]}
    areas = ngettext(
        "%(n)d standing area created",
        "%(n)d standing areas created",
        counts["standing_created"],
    ) % {"n": counts["standing_created"]}
    total = gettext("the event now has %(seats)d seats and %(areas)d standing areas.") % {
        "seats": counts["seats_total"],
        "areas": counts["standing_total"],
    }
    return f"{made}, {areas}; {total}"


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

    @admin.action(
        description=_("Block the selected seats (only free ones move)"), permissions=["change"]
    )
    def block(self, request, queryset):
        ids = list(queryset.values_list("pk", flat=True))
        moved = eventseat_block(event_seat_ids=ids, actor=request.user)
        message = _("%(moved)d of %(n)d seats blocked.") % {"moved": moved, "n": len(ids)}
        self.message_user(request, message)

    @admin.action(description=_("Unblock the selected seats"), permissions=["change"])
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


@admin.register(Allocation)
class AllocationAdmin(admin.ModelAdmin):
    """Seats reserved for a channel or a sale phase. Made by the add form
    (events.services.allocation_create), released by the action or the sale
    console's button (allocation_release); never edited or deleted by hand:
    the seats carry its id."""

    form = AllocationForm
    list_display = [
        "name",
        "event",
        "scope",
        "section",
        "tier",
        "quantity",
        "use",
        "release_at",
        "released",
    ]
    list_filter = ["event"]
    list_select_related = ["event", "phase", "section", "tier"]
    readonly_fields = ["use", "released_at", "created_at"]
    actions = ["release"]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ["released_at"]
        return [*AllocationForm.Meta.fields, "use", "released_at", "created_at"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        form.user = request.user  # the audit entry's actor
        return form

    def save_model(self, request, obj, form, change):
        # Saved by the form through allocation_create; nothing is edited after.
        pass

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("for"))
    def scope(self, obj):
        return obj.channel or (obj.phase.name if obj.phase else "")

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(**allocation_counts())

    @admin.display(description=_("sold / held / left"))
    def use(self, obj):
        if obj.pk is None:
            return "—"
        words = gettext("%(sold)d sold, %(held)d held, %(left)d left")
        if obj.section.kind == Section.Kind.STANDING:
            left = 0 if obj.released_at else obj.quantity - obj.held - obj.sold
            return words % {"sold": obj.sold, "held": obj.held, "left": left}
        return words % {"sold": obj.seats_sold, "held": obj.seats_held, "left": obj.seats_left}

    @admin.display(description=_("released"), boolean=True)
    def released(self, obj):
        return obj.is_released()

    @admin.action(
        description=_("Release the selected allocations to the general sale"),
        permissions=["change"],
    )
    def release(self, request, queryset):
        released = sum(
            allocation_release(allocation=allocation, actor=request.user) for allocation in queryset
        )
        message = gettext("%(n)d allocations released; the others were released already.")
        self.message_user(request, message % {"n": released})
