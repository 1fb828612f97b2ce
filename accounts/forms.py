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
