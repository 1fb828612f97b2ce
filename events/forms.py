from __future__ import annotations

import json

from django import forms
from django.utils.translation import gettext_lazy as _

MAX_SPEC_BYTES = 1_000_000


class VenueSpecForm(forms.Form):
    """A layout spec (events/layouts/README.md) uploaded as a file or pasted."""

    spec_file = forms.FileField(label=_("Spec file (JSON)"), required=False)
    spec_text = forms.CharField(
        label=_("…or paste the spec"), required=False, widget=forms.Textarea(attrs={"rows": 16})
    )

    def clean(self):
        data = super().clean()
        upload, text = data.get("spec_file"), data.get("spec_text")
        if upload:
            if upload.size > MAX_SPEC_BYTES:
                raise forms.ValidationError(_("The file is too large (1 MB at most)."))
            text = upload.read().decode("utf-8", errors="replace")
        if not text:
            raise forms.ValidationError(_("Upload a spec file or paste one."))
        try:
            data["spec"] = json.loads(text)
        except ValueError as exc:
            message = _("Not valid JSON: %(error)s")
            raise forms.ValidationError(message, params={"error": exc}) from exc
        return data
