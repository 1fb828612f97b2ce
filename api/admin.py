"""Staff manage partners and their API keys here.

A new key's secret is shown once, on the page that answers the add form, and
is never stored (not even in the messages cookie): only its hash is kept.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from api.models import ApiKey, IdempotencyRecord, Partner, Scope
from api.services import api_key_create, api_key_revoke


class ApiKeyInline(admin.TabularInline):
    model = ApiKey
    fields = ["prefix", "name", "scopes", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None) -> bool:
        return False  # keys are made on the API key page, which shows the secret


@admin.register(Partner)
class PartnerAdmin(admin.ModelAdmin):
    list_display = ["slug", "name", "is_active", "webview_enabled", "created_at"]
    list_filter = ["is_active", "webview_enabled"]
    fieldsets = [
        (None, {"fields": ["slug", "name", "is_active", "created_at"]}),
        (
            _("Webview in the partner's app"),
            {"fields": ["webview_enabled", "webview_return_link", "webview_token_seconds"]},
        ),
    ]
    search_fields = ["slug", "name"]
    inlines = [ApiKeyInline]


class ApiKeyAddForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        choices=Scope.choices, widget=forms.CheckboxSelectMultiple, required=True
    )

    class Meta:
        model = ApiKey
        fields = ["partner", "name", "scopes", "events"]


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ["prefix", "partner", "name", "scopes", "created_at", "last_used_at",
                    "revoked_at"]  # fmt: skip
    list_filter = ["partner", ("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["prefix", "name", "partner__slug"]
    list_select_related = ["partner"]
    actions = ["revoke"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = ApiKeyAddForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["partner", "name", "scopes", "events"]
        return ["partner", "prefix", "name", "scopes", "events", "created_at", "last_used_at",
                "revoked_at"]  # fmt: skip

    def get_readonly_fields(self, request, obj=None):
        # Only the name may change; scopes and revocation go through services
        # (audited): make a new key for new scopes, revoke with the action.
        if obj is None:
            return []
        return ["partner", "prefix", "scopes", "events", "created_at", "last_used_at",
                "revoked_at"]  # fmt: skip

    def save_model(self, request, obj, form, change):
        if change:
            obj.save(update_fields=["name"])
            return
        key, raw = api_key_create(
            partner=form.cleaned_data["partner"],
            scopes=form.cleaned_data["scopes"],
            name=form.cleaned_data["name"],
            events=form.cleaned_data.get("events") or (),
            actor_user=request.user,
        )
        # The admin goes on with `obj` (log entry, redirect): make it the saved key.
        obj.__dict__.update({k: v for k, v in key.__dict__.items() if k != "_state"})
        obj._state.adding = False
        obj._state.db = key._state.db
        request._api_key_secret = raw

    def response_add(self, request, obj, post_url_continue=None):
        raw = getattr(request, "_api_key_secret", None)
        if raw is None:
            return super().response_add(request, obj, post_url_continue)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "key": obj,
            "secret": raw,
            "title": _("API key created"),
        }
        response = TemplateResponse(request, "admin/api/apikey/created.html", context)
        # The secret must not linger in any cache or history.
        response["Cache-Control"] = "no-store"
        return response

    @admin.action(description=_("Revoke selected API keys"), permissions=["change"])
    def revoke(self, request, queryset):
        revoked = sum(
            api_key_revoke(key=key, actor_user=request.user)
            for key in queryset.select_related("partner")
        )
        self.message_user(
            request,
            ngettext("%(count)d key revoked.", "%(count)d keys revoked.", revoked)
            % {"count": revoked},
            messages.SUCCESS,
        )


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(admin.ModelAdmin):
    """Read-only: to see what a partner's retry will be answered with."""

    list_display = ["key", "completed", "response_status", "created_at", "claimed_at"]
    list_filter = ["completed", "response_status"]
    search_fields = ["key"]
    exclude = ["response_body"]
    readonly_fields = ["key", "fingerprint", "request_hash", "completed", "response_status",
                       "response_headers", "created_at", "claimed_at", "body"]  # fmt: skip

    @admin.display(description=_("response body"))
    def body(self, obj) -> str:
        return bytes(obj.response_body).decode(errors="replace")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
