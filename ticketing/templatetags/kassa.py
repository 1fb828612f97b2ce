"""Template helpers shared by every app: `{% load kassa %}`."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django import template

from ticketing.money import money_format

register = template.Library()


@register.filter
def money(amount: Decimal | int | str | None, currency: str) -> str:
    """`{{ price|money:currency }}`: the amount in the active language, e.g. "45 000 ₸".

    Strings (a Decimal that went through a context as text) are read as
    Decimal; a missing amount renders as nothing rather than "None".
    """
    if amount is None or amount == "":
        return ""
    if isinstance(amount, str):
        try:
            amount = Decimal(amount)
        except InvalidOperation:
            return amount
    return money_format(amount, currency)
