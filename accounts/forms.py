from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _


class SigninForm(forms.Form):
    identity = forms.CharField(
        label=_("Phone number or e-mail"),
        max_length=254,
        widget=forms.TextInput(
            attrs={"autocomplete": "username", "inputmode": "email", "autofocus": True,
                   "placeholder": "+7 701 234 56 78"}
        ),
    )  # fmt: skip
    next = forms.CharField(required=False, widget=forms.HiddenInput)


class CodeForm(forms.Form):
    code = forms.CharField(
        label=_("Code"),
        max_length=12,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True,
                   "pattern": "[0-9 ]*"}
        ),
    )  # fmt: skip

    def clean_code(self) -> str:
        # A typo in the length is not a guess: refuse it without spending an attempt.
        code = "".join(self.cleaned_data["code"].split())
        if len(code) != 6 or not code.isascii() or not code.isdigit():
            raise forms.ValidationError(_("Enter the 6 digits from the message."))
        return code
