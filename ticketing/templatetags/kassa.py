"""Template helpers shared by every app: `{% load kassa %}`."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from babel.dates import get_timezone, get_timezone_location
from django import template
from django.conf import settings
from django.utils.translation import get_language

from ticketing.money import babel_locale, money_format

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


@register.filter
def tz_city(zone: str) -> str:
    """`{{ event.time_zone|tz_city }}`: the zone's city in the active language
    ("Asia/Almaty" -> "Алматы", "Almaty"), for "Almaty time" next to a local time."""
    try:
        tz = get_timezone(zone)
    except LookupError:
        return zone
    locale = babel_locale(get_language() or settings.LANGUAGE_CODE)
    return get_timezone_location(tz, locale=locale, return_city=True)
