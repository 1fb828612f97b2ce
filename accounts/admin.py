from __future__ import annotations

from django.contrib import admin

from accounts.models import OneTimeCode, Profile


@admin.register(Profile)
class ProfileAdmin(admin.ModelAdmin):
    list_display = ["user", "phone", "email", "created_at"]
    search_fields = ["phone", "email", "user__username"]
    raw_id_fields = ["user"]
    readonly_fields = ["session_epoch", "created_at"]


@admin.register(OneTimeCode)
class OneTimeCodeAdmin(admin.ModelAdmin):
    """Read-only: codes are evidence for support ("did the SMS go out?"), never editable."""

    list_display = ["identity", "purpose", "created_at", "expires_at", "attempts", "used_at"]
    search_fields = ["identity"]
    list_filter = ["purpose"]
    exclude = ["code_hash"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
