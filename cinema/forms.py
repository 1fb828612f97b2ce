from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from cinema.models import Showing
from cinema.selectors import TIMES_OF_DAY

MAX_CSV_BYTES = 5 * 1024 * 1024
TIME_OF_DAY_LABELS = {
    "morning": _("Morning"),
    "day": _("Day"),
    "evening": _("Evening"),
    "night": _("Night"),
}


class ScheduleUploadForm(forms.Form):
    file = forms.FileField(
        label=_("Schedule (CSV)"),
        help_text=_("UTF-8, comma or semicolon separated, header first."),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_CSV_BYTES:
            raise forms.ValidationError(_("The file is larger than 5 MB."))
        try:
            return upload.read().decode("utf-8-sig")
        except UnicodeDecodeError:
            raise forms.ValidationError(_("The file is not UTF-8 text.")) from None


class ScheduleFilterForm(forms.Form):
    """The buyer page's filters (GET); bad values are ignored, not errors."""

    date = forms.CharField(required=False)
    film = forms.SlugField(required=False)
    cinema = forms.SlugField(required=False)
    format = forms.ChoiceField(
        required=False, choices=[("", _("Any format")), *Showing.Format.choices]
    )
    language = forms.ChoiceField(
        required=False, choices=[("", _("Any language")), *Showing.Language.choices]
    )
    time_of_day = forms.ChoiceField(
        required=False,
        choices=[("", _("Any time")), *((k, TIME_OF_DAY_LABELS[k]) for k in TIMES_OF_DAY)],
    )
