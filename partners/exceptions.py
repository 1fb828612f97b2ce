from __future__ import annotations

from django.utils.translation import gettext_lazy

from ticketing.errors import KassaError


class WebhookUrlInvalid(KassaError):
    code = "webhook_url_invalid"
    status = 400
    default_message = gettext_lazy("The webhook URL must be an https:// address.")


class WebhookEventsInvalid(KassaError):
    code = "webhook_events_invalid"
    status = 400
    default_message = gettext_lazy("Choose one or more known webhook events.")
