"""The one way money is shown to people: `money_format` (and the `money` filter).

Built on Babel's copy of CLDR so every page, e-mail and admin list writes an
amount the way the reader's language does (digit grouping, decimal mark, where
the currency sign goes). The API keeps plain decimal strings (API.md); this is
for text read by people only.
"""

from __future__ import annotations

import copy
from decimal import Decimal
from functools import lru_cache

from babel import Locale
from babel.numbers import NumberPattern, format_currency
from django.conf import settings
from django.utils.translation import get_language, to_locale

# Kassa sells in Kazakhstan, so Russian and Kazakh are written the way they are
# there: CLDR's ru_KZ/kk_KZ use the tenge sign (plain "ru" writes "KZT"). English
# has no Kazakhstan variant in CLDR, so it keeps CLDR's "en" (the code, "KZT").
_LOCALE_FOR_LANGUAGE = {"ru": "ru_KZ", "kk": "kk_KZ", "en": "en"}

# CLDR's currencySpacing rule, which Babel does not apply: a sign made of
# letters ("KZT") next to a digit gets a no-break space, as ICU (and so the
# browsers' Intl.NumberFormat used by the seat map) writes "KZT 45,000".
_NBSP = "\u00a0"


@lru_cache(maxsize=64)
def babel_locale(language: str) -> Locale:
    """The CLDR locale kassa writes `language` in (ru and kk as in Kazakhstan)."""
    base = to_locale(language).split("_")[0]
    return Locale.parse(_LOCALE_FOR_LANGUAGE.get(base, base))


@lru_cache(maxsize=64)
def _whole_pattern(locale: Locale) -> NumberPattern:
    pattern = copy.copy(locale.currency_formats["standard"])
    pattern.frac_prec = (0, 0)
    return pattern


def _space_letter_sign(text: str, symbol: str) -> str:
    if not symbol[-1:].isalpha() and not symbol[:1].isalpha():
        return text
    start = text.find(symbol)
    if start < 0:
        return text
    end = start + len(symbol)
    if end < len(text) and text[end].isdigit():
        text = text[:end] + _NBSP + text[end:]
    if start > 0 and text[start - 1].isdigit():
        text = text[:start] + _NBSP + text[start:]
    return text


def money_plain(amount: Decimal | int | None) -> str:
    """The amount as a plain decimal with two places, as JSON and CSV carry
    money ("45000.00"); no amount is "0.00"."""
    return str(Decimal(amount or 0).quantize(Decimal("0.01")))


def money_format(amount: Decimal | int, currency: str, language: str | None = None) -> str:
    """Format `amount` of `currency` for a reader of `language` (default: the active one).

    Whole amounts are shown without decimals ("45 000 ₸"), others with the
    currency's digits ("45 000,50 ₸"). A float is refused: money never passes
    through binary floating point here.
    """
    if isinstance(amount, float) or isinstance(amount, bool):
        raise TypeError("money_format takes a Decimal (or int), never a float")
    amount = Decimal(amount)
    locale = babel_locale(language or get_language() or settings.LANGUAGE_CODE)
    if amount == amount.to_integral_value():
        text = format_currency(
            amount, currency, format=_whole_pattern(locale), locale=locale, currency_digits=False
        )
    else:
        text = format_currency(amount, currency, locale=locale)
    return _space_letter_sign(text, locale.currency_symbols.get(currency, currency))


def money_shape(currency: str, language: str | None = None) -> dict[str, str]:
    """How money_format writes `currency` in `language`, for a page's script that
    must add amounts up (the seat map's total): the pattern with `%(amount)s`
    where the number goes, and the digit-group and decimal marks. Browsers'
    Intl data differ (Chromium writes Kazakh "120,000"), so pages take these."""
    locale = babel_locale(language or get_language() or settings.LANGUAGE_CODE)
    return {
        "pattern": money_format(1, currency, language).replace("1", "%(amount)s"),
        "group": locale.number_symbols["latn"]["group"],
        "decimal": locale.number_symbols["latn"]["decimal"],
    }
