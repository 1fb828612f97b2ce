"""The console's room controls: one form, one action each submit."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

ACTIONS = ("pause", "resume", "drain", "rate", "max_active")


class RoomControlForm(forms.Form):
    action = forms.ChoiceField(choices=[(a, a) for a in ACTIONS])
    # Only for `rate` and `max_active`: the new admissions a minute / shopper cap.
    value = forms.IntegerField(required=False, min_value=1, max_value=1_000_000)

    def clean(self):
        data = super().clean()
        if data.get("action") in ("rate", "max_active") and data.get("value") is None:
            self.add_error("value", _("Enter a whole number of at least 1."))
        return data

    def changes(self) -> dict:
        """The room settings this submit changes (queueing.services.EDITABLE names)."""
        action, value = self.cleaned_data["action"], self.cleaned_data.get("value")
        if action == "rate":
            return {"admission_rate_per_minute": value}
        if action == "max_active":
            return {"max_active_shoppers": value}
        return {}
