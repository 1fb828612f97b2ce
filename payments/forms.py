"""The staff refund form: which tickets of the order, and why."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from ticketing.money import money_format


class RefundForm(forms.Form):
    tickets = forms.MultipleChoiceField(
        label=_("Tickets to refund"),
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Choose every ticket for a whole refund; the others stay valid."),
        error_messages={"required": _("Choose at least one ticket to refund.")},
    )
    reason = forms.CharField(
        label=_("Reason"),
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("The buyer reads it in the refund e-mail; it is kept in the audit trail."),
        error_messages={"required": _("Give the reason for the refund.")},
    )

    def __init__(self, *args, tickets=(), currency: str = "", **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # A used ticket is refunded too, but its place stays sold: staff see it.
        self.fields["tickets"].choices = [
            (
                str(t.pk),
                f"{t} — {money_format(t.price, currency)}"
                + (f" — {t.get_status_display()}" if t.status == t.Status.USED else ""),
            )
            for t in tickets
        ]

    def clean_reason(self) -> str:
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise forms.ValidationError(_("Give the reason for the refund."))
        return reason

    def ticket_ids(self) -> list[int]:
        return [int(pk) for pk in self.cleaned_data["tickets"]]


class SettlementForm(forms.Form):
    date = forms.DateField(
        label=_("Day"),
        input_formats=["%Y-%m-%d"],
        help_text=_("YYYY-MM-DD, a calendar day in the site's time zone."),
        widget=forms.DateInput(attrs={"type": "date"}),
    )


class EventCancelForm(forms.Form):
    """Why the event is cancelled (every buyer reads it), and a last check."""

    reason = forms.CharField(
        label=_("Reason"),
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Every buyer reads it in the cancellation e-mail; it is kept in the audit."),
        error_messages={"required": _("Give the reason for the cancellation.")},
    )
    confirm = forms.BooleanField(
        label=_("Yes: stop the sale and refund every paid order of this event"),
        error_messages={"required": _("Tick the box to confirm the cancellation.")},
    )

    def clean_reason(self) -> str:
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise forms.ValidationError(_("Give the reason for the cancellation."))
        return reason
