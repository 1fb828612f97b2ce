"""Admin of the base layer: the outbox, read-only, so staff can see stuck work."""

from __future__ import annotations

from django.contrib import admin

from ticketing.models import OutboxMessage


class OutboxStateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("pending", "pending"), ("done", "done"), ("given_up", "given up")]

    def queryset(self, request, queryset):
        if self.value() == "pending":
            return queryset.filter(done_at__isnull=True, due_at__isnull=False)
        if self.value() == "done":
            return queryset.filter(done_at__isnull=False)
        if self.value() == "given_up":
            return queryset.filter(done_at__isnull=True, due_at__isnull=True)
        return queryset


@admin.register(OutboxMessage)
class OutboxMessageAdmin(admin.ModelAdmin):
    """Read-only: a message is changed by its runs only (a hand edit would race
    the claim). A given-up message is re-driven by the code that owns its kind."""

    list_display = ["id", "kind", "state", "attempts", "created_at", "due_at", "done_at"]
    list_filter = ["kind", OutboxStateFilter]
    search_fields = ["kind", "last_error"]
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in OutboxMessage._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
