from __future__ import annotations

from decimal import Decimal

import pytest
from django.template import Context, Template
from django.utils import translation

from ticketing.money import money_format, money_shape

NBSP = "\u00a0"


@pytest.mark.parametrize(
    ("language", "whole", "fractional"),
    [
        ("ru", f"45{NBSP}000{NBSP}₸", f"45{NBSP}000,50{NBSP}₸"),
        ("kk", f"45{NBSP}000{NBSP}₸", f"45{NBSP}000,50{NBSP}₸"),
        ("en", f"KZT{NBSP}45,000", f"KZT{NBSP}45,000.50"),
    ],
)
def test_money_format_writes_tenge_the_way_each_language_does(language, whole, fractional):
    assert money_format(Decimal("45000.00"), "KZT", language) == whole
    assert money_format(Decimal("45000.5"), "KZT", language) == fractional


def test_money_format_shows_decimals_only_when_the_amount_is_not_whole():
    assert money_format(Decimal("1234567.25"), "KZT", "ru") == f"1{NBSP}234{NBSP}567,25{NBSP}₸"
    assert money_format(Decimal("7"), "KZT", "en") == f"KZT{NBSP}7"
    assert money_format(12000, "KZT", "kk") == f"12{NBSP}000{NBSP}₸"


def test_money_format_refuses_a_float():
    with pytest.raises(TypeError, match="never a float"):
        money_format(45000.0, "KZT", "ru")  # type: ignore[arg-type]


def test_money_format_follows_the_active_language_by_default():
    with translation.override("kk"):
        assert money_format(Decimal("35000"), "KZT") == f"35{NBSP}000{NBSP}₸"
    with translation.override("en"):
        assert money_format(Decimal("35000"), "KZT") == f"KZT{NBSP}35,000"


def test_money_filter_formats_in_the_active_language():
    template = Template("{% load kassa %}{{ price|money:currency }}|{{ missing|money:currency }}")
    context = Context({"price": Decimal("35000.00"), "currency": "KZT"})
    with translation.override("ru"):
        assert template.render(context) == f"35{NBSP}000{NBSP}₸|"
    with translation.override("en"):
        assert template.render(context) == f"KZT{NBSP}35,000|"


@pytest.mark.parametrize("language", ["ru", "kk", "en"])
def test_money_shape_lets_a_script_write_what_money_format_writes(language):
    """What the seat map's total is built from: the pattern and digit marks."""
    shape = money_shape("KZT", language)
    amount = "1" + shape["group"] + "234" + shape["group"] + "567" + shape["decimal"] + "50"
    assert shape["pattern"] % {"amount": amount} == money_format(
        Decimal("1234567.50"), "KZT", language
    )
