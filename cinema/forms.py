"""Staff forms of the cinema side."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from cinema.models import Cinema, Showing
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


HALL_CSV_MAX_BYTES = 256 * 1024


class HallLayoutForm(forms.Form):
    """A new hall: its cinema, code and names, and its seats as one line per
    row (events/layouts/README.md, "Cinema halls") or as a CSV."""

    cinema = forms.ModelChoiceField(label=_("cinema"), queryset=Cinema.objects.all())
    code = forms.SlugField(
        label=_("code"), max_length=30, help_text=_("As the schedule names the hall: 1, 2, IMAX.")
    )
    name = forms.CharField(label=_("name"), max_length=100, help_text=_("In Russian."))
    name_kk = forms.CharField(label=_("name (Kazakh)"), max_length=100, required=False)
    name_en = forms.CharField(label=_("name (English)"), max_length=100, required=False)
    rows = forms.CharField(
        label=_("rows"),
        required=False,
        max_length=20_000,
        widget=forms.Textarea(attrs={"rows": 14, "cols": 60, "spellcheck": "false",
                                     "class": "hall-rows"}),
        help_text=_("One line per row, screen side first: “A: SSSS_SSSSSS_SSSS”. "
                    "S standard, V VIP, W wheelchair space, C its companion seat (beside it), "
                    "L love seat (LL is one sofa), _ a gap. “B +0.5: …” shifts a row by half "
                    "a seat; an empty line is a cross aisle."),
    )  # fmt: skip
    csv_file = forms.FileField(label=_("…or a CSV file"), required=False)
    csv_text = forms.CharField(
        label=_("…or paste the CSV"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 6, "cols": 60, "spellcheck": "false"}),
        help_text=_("Header row,number,x,y,kind,pair_with; x and y in centimetres; pair_with "
                    "the number of the seat sold with this one (love seats, wheelchair spaces "
                    "and companion seats)."),
    )  # fmt: skip
    curve = forms.IntegerField(
        label=_("curve (cm)"),
        initial=0,
        min_value=-300,
        max_value=300,
        required=False,
        help_text=_("How far the ends of the widest row bend towards the screen."),
    )

    def clean(self):
        data = super().clean()
        upload = data.get("csv_file")
        if upload:
            if upload.size > HALL_CSV_MAX_BYTES:
                raise forms.ValidationError(_("The file is too large (256 KB at most)."))
            data["csv_text"] = upload.read().decode("utf-8", errors="replace")
        if not (data.get("rows") or "").strip() and not (data.get("csv_text") or "").strip():
            raise forms.ValidationError(_("Write the rows or give a CSV of the seats."))
        return data
