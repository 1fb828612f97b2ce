# ruff: noqa: RUF001 - Kazakh text uses Cyrillic letters that look like Latin ones
"""Buyer pages and API errors speak Russian by default, Kazakh and English on request;
every ru/kk catalog is complete (no untranslated or fuzzy entries)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.utils import translation
from rest_framework.exceptions import ValidationError
from rest_framework.test import APIClient

from api.pagination import KassaCursorPagination
from orders.models import Hold
from orders.tests.factories import event_make, order_make, seat_ids
from payments.services import payment_start

pytestmark = pytest.mark.django_db

# language -> strings that must appear (None = no Accept-Language header: the default, ru)
CHECKOUT = {
    None: ["Оформление заказа", "Ваша бронь", "Перейти к оплате", "ряд 1, место 1"],
    "kk": ["Тапсырысты рәсімдеу", "Сіздің брондауыңыз", "Төлемге өту", "1-қатар, 1-орын"],
    "en": ["Checkout", "Your reservation", "Continue to payment", "row 1, seat 1"],
}
GATEWAY = {
    None: ["Тестовый платёжный шлюз", "Номер карты", "Владелец карты"],
    "kk": ["Сынақ төлем шлюзі", "Карта нөмірі", "Карта иесі"],
    "en": ["Sandbox payment gateway", "Card number", "Cardholder"],
}
ORDER_PAGE = {
    None: ["Заказ ", "Ожидает оплаты", "Итого", "Мероприятия"],
    "kk": ["тапсырысы", "Төлем күтілуде", "Барлығы", "Іс-шаралар"],
    "en": ["Order ", "Awaiting payment", "Total", "Events"],
}
LANGS = [None, "kk", "en"]


def _client(lang: str | None) -> Client:
    return Client(HTTP_ACCEPT_LANGUAGE=lang) if lang else Client()


def _assert_language(html: str, lang: str | None, expected: dict) -> None:
    for text in expected[lang]:
        assert text in html, f"{text!r} missing for {lang or 'default'}"
    # And none of the other languages' distinctive words leak in.
    for other, texts in expected.items():
        if other != lang:
            assert texts[1] not in html, f"{texts[1]!r} ({other}) shown for {lang or 'default'}"
    assert f'<html lang="{lang or "ru"}">' in html


@pytest.mark.parametrize("lang", LANGS)
def test_checkout_page_language(event, lang):
    client = _client(lang)
    response = client.post(f"/e/{event.slug}/hold/", {"seats": [str(seat_ids(event)[0])]})
    assert response.status_code == 302
    page = client.get(f"/checkout/{Hold.objects.get().pk}/")
    assert page.status_code == 200
    _assert_language(page.content.decode(), lang, CHECKOUT)


@pytest.mark.parametrize("lang", LANGS)
def test_gateway_card_form_language(lang):
    order = order_make(event=event_make(seats=2), seat_count=1)
    _payment, url = payment_start(order=order)
    page = _client(lang).get(url)
    assert page.status_code == 200
    _assert_language(page.content.decode(), lang, GATEWAY)


@pytest.mark.parametrize("lang", LANGS)
def test_order_page_language(lang):
    order = order_make(event=event_make(seats=2), seat_count=1)
    page = _client(lang).get(f"/orders/{order.code}/?t={order.access_token}")
    assert page.status_code == 200
    _assert_language(page.content.decode(), lang, ORDER_PAGE)


@pytest.mark.parametrize(
    ("lang", "message", "detail"),
    [
        ("ru", "Некоторые поля заполнены неверно.", "Выберите хотя бы одно место."),
        ("kk", "Кейбір өрістер қате толтырылған.", "Кемінде бір орын таңдаңыз."),
        ("en", "Some fields are invalid.", "Choose at least one seat."),
    ],
)
def test_api_error_message_in_the_callers_language(event, lang, message, detail):
    response = APIClient().post(
        "/api/v1/holds/", {"event": event.slug, "seats": []}, format="json",
        HTTP_ACCEPT_LANGUAGE=lang,
    )  # fmt: skip
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert error["message"] == message
    assert detail in error["details"]["seats"]


def test_api_pagination_error_is_translated():
    request = type("R", (), {"query_params": {"page_size": "0"}})()
    with translation.override("ru"), pytest.raises(ValidationError) as caught:
        KassaCursorPagination().get_page_size(request)
    assert str(caught.value.detail["page_size"][0]) == "Должно быть положительным целым числом."


# --- the catalogs themselves -------------------------------------------------


def _catalogs() -> list[Path]:
    base = Path(settings.BASE_DIR)
    found = sorted(base.glob("*/locale/*/LC_MESSAGES/django.po"))
    found += sorted(base.glob("locale/*/LC_MESSAGES/django.po"))
    # An English catalog may leave msgstr empty: the msgid is the English text.
    return [p for p in found if p.parent.parent.name != "en"]


def _entries(path: Path) -> list[dict]:
    """A tiny .po reader: msgid / msgid_plural / msgstr[n] and flags per entry."""
    entries: list[dict] = []
    current: dict | None = None
    key = None
    for raw in [*path.read_text(encoding="utf-8").splitlines(), ""]:
        line = raw.strip()
        if not line:
            if current and "msgid" in current:
                entries.append(current)
            current, key = None, None
            continue
        starts_entry = line.startswith("#") or line.startswith(("msgctxt ", "msgid "))
        if current is not None and current["msgstr"] and starts_entry:
            entries.append(current)  # PO needs no blank line between entries
            current = None
        if current is None:
            current = {"flags": set(), "msgstr": {}, "obsolete": False}
        if line.startswith("#~"):
            current["obsolete"] = True
            continue
        if line.startswith("#,"):
            current["flags"] |= {flag.strip() for flag in line[2:].split(",")}
            continue
        if line.startswith("#"):
            continue
        if line.startswith('"'):
            text = line[1:-1]
        else:
            word, _, rest = line.partition(" ")
            text = rest.strip()[1:-1]
            if word.startswith("msgstr"):
                key = ("msgstr", int(word[7:-1]) if "[" in word else 0)
                current["msgstr"][key[1]] = ""
            else:
                key = word
                current[key] = ""
        if isinstance(key, tuple):
            current["msgstr"][key[1]] += text
        else:
            current[key] += text
    return entries


def _problems(path: Path) -> list[str]:
    problems = []
    entries = _entries(path)
    assert entries and entries[0]["msgid"] == "", f"{path}: no header"
    header = entries[0]
    if "fuzzy" in header["flags"]:
        problems.append("fuzzy header")
    plurals = 4 if path.parent.parent.name == "ru" else 2
    assert f"nplurals={plurals}" in header["msgstr"][0], f"{path}: Plural-Forms"
    for entry in entries[1:]:
        if entry["obsolete"]:
            continue
        if "fuzzy" in entry["flags"]:
            problems.append(f"fuzzy: {entry['msgid']!r}")
        wanted = range(plurals) if "msgid_plural" in entry else range(1)
        if any(not entry["msgstr"].get(n) for n in wanted):
            problems.append(f"untranslated: {entry['msgid']!r}")
    return problems


def test_catalogs_are_found():
    names = {str(p.relative_to(settings.BASE_DIR)) for p in _catalogs()}
    for app in ("orders/", "api/", ""):
        for lang in ("ru", "kk"):
            assert f"{app}locale/{lang}/LC_MESSAGES/django.po" in names


@pytest.mark.parametrize("path", _catalogs(), ids=lambda p: str(p.relative_to(settings.BASE_DIR)))
def test_catalog_is_complete_and_compiled(path):
    assert _problems(path) == []
    mo = path.with_suffix(".mo")
    assert mo.exists(), f"{mo} is not compiled"
    assert mo.stat().st_size > 100


@pytest.mark.skipif(not shutil.which("msgfmt"), reason="GNU gettext (msgfmt) is not installed")
@pytest.mark.parametrize("path", _catalogs(), ids=lambda p: str(p.relative_to(settings.BASE_DIR)))
def test_msgfmt_agrees(path, tmp_path):
    result = subprocess.run(
        ["msgfmt", "--check", "--statistics", "-o", str(tmp_path / "x.mo"), str(path)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    stats = result.stderr.strip().splitlines()[-1]
    assert "untranslated" not in stats and "fuzzy" not in stats, stats
