"""Staff manage webhook endpoints and read (and re-send) deliveries here.

A new or rotated signing secret is shown once, on the page that answers the
form or the action; the secret fields are never shown afterwards.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from partners.exceptions import WebhookEventsInvalid, WebhookUrlInvalid
from partners.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEventType
from partners.services import (
    webhook_delivery_replay,
    webhook_endpoint_check,
    webhook_endpoint_create,
    webhook_endpoint_rotate_secret,
)

SECRET_TEMPLATE = "admin/partners/webhookendpoint/secret.html"  # noqa: S105 (a path)


class WebhookEndpointForm(forms.ModelForm):
    url = forms.URLField(max_length=500, assume_scheme="https")
    events = forms.MultipleChoiceField(
        choices=WebhookEventType.choices, widget=forms.CheckboxSelectMultiple, required=True
    )

    class Meta:
        model = WebhookEndpoint
        fields = ["partner", "url", "events", "description", "is_active"]

    def clean(self):
        data = super().clean()
        if "url" in data and "events" in data:
            try:
                webhook_endpoint_check(
                    url=data["url"], events=data["events"], partner=data.get("partner")
                )
            except WebhookUrlInvalid as exc:
                self.add_error("url", str(exc.message))
            except WebhookEventsInvalid as exc:
                self.add_error("events", str(exc.message))
        return data


def _secret_page(admin_obj, request, endpoint, secret):
    context = {
        **admin_obj.admin_site.each_context(request),
        "opts": admin_obj.opts,
        "endpoint": endpoint,
        "secret": secret,
        "title": _("Webhook signing secret"),
    }
    response = TemplateResponse(request, SECRET_TEMPLATE, context)
    response["Cache-Control"] = "no-store"
    return response


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    form = WebhookEndpointForm
    list_display = ["partner", "url", "events", "is_active", "created_at"]
    list_filter = ["partner", "is_active"]
    list_select_related = ["partner"]
    actions = ["rotate_secret"]

    def get_readonly_fields(self, request, obj=None):
        return ["partner", "previous_secret_expires_at", "created_at"] if obj else []

    def save_model(self, request, obj, form, change):
        if change:
            obj.save(update_fields=["url", "events", "description", "is_active"])
            return
        endpoint, secret = webhook_endpoint_create(
            partner=form.cleaned_data["partner"],
            url=form.cleaned_data["url"],
            events=form.cleaned_data["events"],
            description=form.cleaned_data["description"],
            actor_user=request.user,
        )
        obj.__dict__.update({k: v for k, v in endpoint.__dict__.items() if k != "_state"})
        obj._state.adding = False
        obj._state.db = endpoint._state.db
        request._webhook_secret = secret

    def response_add(self, request, obj, post_url_continue=None):
        secret = getattr(request, "_webhook_secret", None)
        if secret is None:
            return super().response_add(request, obj, post_url_continue)
        return _secret_page(self, request, obj, secret)

    @admin.action(description=_("Rotate the signing secret (the old one signs 24 h more)"))
    def rotate_secret(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, _("Rotate one endpoint at a time."), messages.ERROR)
            return None
        endpoint = queryset.get()
        secret = webhook_endpoint_rotate_secret(endpoint=endpoint, actor_user=request.user)
        endpoint.refresh_from_db()
        return _secret_page(self, request, endpoint, secret)


class WebhookAttemptInline(admin.TabularInline):
    model = WebhookAttempt
    fields = ["started_at", "duration_ms", "status_code", "response_body", "error"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    """Read-only; "re-send" queues a new delivery of the same event."""

    list_display = ["id", "partner", "event_type", "status", "attempts", "last_status_code",
                    "created_at", "delivered_at"]  # fmt: skip
    list_filter = ["status", "event_type", "partner"]
    search_fields = ["=id", "=event_id"]
    list_select_related = ["partner"]
    inlines = [WebhookAttemptInline]
    actions = ["resend"]
    readonly_fields = ["id", "endpoint", "partner", "event_id", "event_type", "payload", "status",
                       "attempts", "last_status_code", "replay_of", "created_at",
                       "delivered_at"]  # fmt: skip

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.action(description=_("Re-send the selected deliveries' events"), permissions=["change"])
    def resend(self, request, queryset):
        count = 0
        for delivery in queryset.select_related("endpoint"):
            webhook_delivery_replay(delivery=delivery, actor_user=request.user)
            count += 1
        self.message_user(
            request,
            ngettext("%(count)d delivery queued.", "%(count)d deliveries queued.", count)
            % {"count": count},
            messages.SUCCESS,
        )
