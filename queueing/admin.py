"""Staff control of waiting rooms: live edits, pause/resume/drain, and a live page.

Every change goes through services.room_update (audited in its transaction).
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from queueing import services, state
from queueing.models import WaitingRoom, WaitingRoomSnapshot


@admin.register(WaitingRoom)
class WaitingRoomAdmin(admin.ModelAdmin):
    list_display = ("event", "mode", "sale_opens_at", "admission_rate_per_minute",
                    "max_active_shoppers", "paused", "draining", "live_link",
                    "console_link")  # fmt: skip
    list_filter = ("mode", "paused", "draining")
    list_select_related = ("event",)
    readonly_fields = ("seed_hash", "seed_revealed_at", "created_at", "updated_at")
    actions = ("pause", "resume", "drain")
    raw_id_fields = ("event",)

    def get_readonly_fields(self, request, obj=None):
        return (*self.readonly_fields, "event") if obj else self.readonly_fields

    @admin.display(description=_("live"))
    def live_link(self, obj):
        url = reverse("admin:queueing_room_live", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, _("live"))

    @admin.display(description=_("on-sale console"))
    def console_link(self, obj):
        # The console is the sales app's page (above queueing): linked by URL name only.
        url = reverse("sales:console", args=[obj.event.slug])
        return format_html('<a href="{}">{}</a>', url, _("console"))

    def save_model(self, request, obj, form, change):
        if not change:
            fields = {f: form.cleaned_data[f] for f in services.EDITABLE if f in form.cleaned_data}
            event = form.cleaned_data["event"]
            created = services.room_create(event=event, actor=request.user, **fields)
            obj.pk = created.pk
            return
        changes = {f: form.cleaned_data[f] for f in form.changed_data if f in services.EDITABLE}
        services.room_update(room=obj, changes=changes, actor=request.user)

    def _act(self, request, queryset, action):
        for room in queryset:
            services.room_action(room=room, action=action, actor=request.user)
        self.message_user(request, _("Done."), messages.SUCCESS)

    @admin.action(description=_("Pause admission"), permissions=["change"])
    def pause(self, request, queryset):
        self._act(request, queryset, "pause")

    @admin.action(description=_("Resume admission (ends pause and drain)"), permissions=["change"])
    def resume(self, request, queryset):
        self._act(request, queryset, "resume")

    @admin.action(
        description=_("Drain: admit nobody new, let admitted shoppers finish"),
        permissions=["change"],
    )
    def drain(self, request, queryset):
        self._act(request, queryset, "drain")

    def get_urls(self):
        live = self.admin_site.admin_view(self.live_view)
        return [path("<int:pk>/live/", live, name="queueing_room_live"), *super().get_urls()]

    def live_view(self, request, pk: int):
        if not self.has_view_permission(request):
            raise PermissionDenied
        room = get_object_or_404(WaitingRoom.objects.select_related("event"), pk=pk)
        st = state.read(room.pk)
        cnt = state.counters(room.pk)
        series = state.series(room.pk)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Live: %(event)s") % {"event": room.event},
            "room": room,
            "st": st,
            "numbers": {
                _("waiting"): max(int(st.get("tail", 0)) - int(st.get("serving", 0)), 0),
                _("pre-queue"): cnt["prequeue"],
                _("admitted"): cnt.get("admitted", 0),
                _("active shoppers"): cnt["active"] + cnt["pending"],
                _("no-shows"): cnt.get("no_show", 0),
                _("sold (completed orders)"): cnt.get("completed", 0),
                _("admission rate / min (effective)"): st.get("eff", st.get("rate", "")),
                _("admission rate / min (smoothed, for the wait shown)"): st.get("erate") or "—",
                _("tickets left"): st.get("left", ""),
            },
            "chart": _chart(series),
            "console_url": reverse("sales:console", args=[room.event.slug]),
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/queueing/live.html", context)


def _chart(series: list[dict]) -> dict:
    """Polylines (SVG coordinates) of waiting and active over the kept points."""
    width, height = 600, 160
    if len(series) < 2:
        return {"width": width, "height": height, "lines": []}
    top = max(max(p["waiting"], p["active"]) for p in series) or 1
    step = width / (len(series) - 1)

    def line(key):
        return " ".join(
            f"{i * step:.1f},{height - height * p[key] / top:.1f}" for i, p in enumerate(series)
        )

    lines = [("waiting", "#d7263d", line("waiting")), ("active", "#1a7f37", line("active"))]
    return {"width": width, "height": height, "top": top, "lines": lines}


@admin.register(WaitingRoomSnapshot)
class WaitingRoomSnapshotAdmin(admin.ModelAdmin):
    list_display = ("room", "taken_at", "phase", "serving", "tail")
    list_filter = ("room",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
