"""No English on ru/kk pages.

Two checks that complement each other:
- every msgid the project's code and templates use has a Russian and a Kazakh
  translation (a msgid missing from the catalogs is shown in English, and a
  catalog-completeness check alone cannot see it);
- a buyer walks the whole site in ru and kk (home, event pages, section pages,
  queue page, checkout, payment and gateway pages, the order page, sign-in, my
  tickets, an error page), and no English text of the project's catalogs, no
  English demo name and no common English word shows on any of those pages.
"""

from __future__ import annotations

import html
import io
import json
import re
from pathlib import Path

import pytest
from babel.messages.extract import extract
from django.conf import settings
from django.test import Client
from django.utils.translation import trans_real
from django.utils.translation.template import templatize

from events.demo import DEMO_SLUG, PRESALE_SLUG, demo_load
from events.models import EventSeat, PriceTier, Section, Venue

LANGUAGES = ["ru", "kk"]
SOURCE_DIRS = [
    "accounts",
    "api",
    "cinema",
    "events",
    "orders",
    "payments",
    "partners",
    "queueing",
    "sales",
    "ticketing",
    "templates",
]
SKIP_PARTS = {"tests", "migrations", "locale", "__pycache__"}
KEYWORDS = {
    "_": None,
    "gettext": None,
    "gettext_lazy": None,
    "gettext_noop": None,
    "ngettext": (1, 2),
    "ngettext_lazy": (1, 2),
    "pgettext": ((1, "c"), 2),
    "pgettext_lazy": ((1, "c"), 2),
    "npgettext": ((1, "c"), 2, 3),
    "npgettext_lazy": ((1, "c"), 2, 3),
}
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|%[sd]|\{\w*\}")
# Hard-coded English (not even marked for translation) shows up as these words.
ENGLISH_WORDS = re.compile(
    r"\b(the|and|your|you|with|here|please|join|choose|seats?|tickets?|waiting|order|"
    r"pay|sign|total|section|row|standing|category|lower|upper|zone|stalls|balcony)\b",
    re.IGNORECASE,
)
# Names that are the same in every language (brands, the show's own title, a key).
ALLOWED_LATIN = {
    "kassa",
    "English",
    "VIP",
    "Visa",
    "Mastercard",
    "Backstreet",
    "Boys",
    "DNA",
    "World",
    "Tour",
    "Ulytau",
    "CVC",
    "OK",
    "Secure",
    "3-D",
    "Enter",  # the key's own label
}


def _source_files() -> list[Path]:
    base = Path(settings.BASE_DIR)
    files = []
    for top in SOURCE_DIRS:
        for path in (base / top).rglob("*"):
            if SKIP_PARTS & set(path.relative_to(base).parts):
                continue
            if path.suffix in (".py", ".html", ".txt") and path.is_file():
                files.append(path)
    return files


def _msgids(path: Path):
    """(msgid, plural or None, context or None) of every translatable string in a file."""
    source = path.read_text(encoding="utf-8")
    if path.suffix != ".py":
        if "{%" not in source:
            return
        # templatize turns a template into gettext() calls, as makemessages does;
        # its filler keeps the lines but not Python's indentation rules.
        source = "\n".join(line.lstrip() for line in templatize(source).splitlines())
    for _line, message, _comments, context in extract(
        "python", io.BytesIO(source.encode()), keywords=KEYWORDS, options={}
    ):
        if isinstance(message, tuple):
            yield message[0], message[1], context
        else:
            yield message, None, context


def _untranslated(language: str) -> list[str]:
    catalog = trans_real.translation(language)._catalog
    base = Path(settings.BASE_DIR)
    missing = []
    for path in _source_files():
        for msgid, plural, context in _msgids(path):
            key = f"{context}\x04{msgid}" if context else msgid
            if not catalog.get((key, 0) if plural is not None else key):
                missing.append(f"{path.relative_to(base)}: {msgid!r}")
    return missing


def test_the_source_scan_sees_templates_and_python():
    found = {m[0] for p in _source_files() for m in _msgids(p)}
    assert "Join the waiting room" in found  # events/templates/events/event_page.html
    assert "Page not found" in found  # templates/404.html
    assert "Russian" in found  # ticketing/settings.py


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_msgid_used_by_the_code_is_translated(language):
    missing = _untranslated(language)
    assert missing == [], "\n".join(missing)


# --- the rendered pages --------------------------------------------------------


def _catalog_english() -> set[str]:
    """English source texts of the project's catalogs that read differently in Russian:
    their longest fixed part (placeholders cut out), when it is at least two words."""
    texts = set()
    catalog = trans_real.translation("ru")._catalog
    for path in _source_files():
        for msgid, plural, context in _msgids(path):
            key = f"{context}\x04{msgid}" if context else msgid
            translated = catalog.get((key, 0) if plural is not None else key)
            if translated == msgid:  # the same in Russian (a code, a brand)
                continue
            part = max(PLACEHOLDER.split(msgid), key=len).strip(" .,:;—-()")
            if len(part.split()) >= 2:
                texts.add(part)
    return texts


def _visible_text(page: str) -> str:
    # Scripts and styles are not read; <code> holds hashes and commands to copy.
    page = re.sub(r"<(script|style|code)\b.*?</\1>", " ", page, flags=re.S | re.I)
    # What people read or hear that sits in attributes.
    attrs = re.findall(r'\b(?:aria-label|title|placeholder|alt)="([^"]*)"', page)
    text = re.sub(r"<[^>]+>", " ", page)
    return html.unescape(" ".join([text, *attrs]))


def _english_on(page: str, catalog_english: set[str], names_en: set[str]) -> list[str]:
    text = _visible_text(page)
    found = [f"catalog: {t!r}" for t in catalog_english if t in text]
    found += [f"demo name: {n!r}" for n in names_en if re.search(rf"\b{re.escape(n)}\b", text)]
    for word in ENGLISH_WORDS.findall(text):
        found.append(f"word: {word!r}")
    # Any other Latin word in lower case (codes and seat labels are upper case).
    text = re.sub(r"\S+@\S+", " ", text)  # the buyer's e-mail address
    text = re.sub(r"\b[Ee]-mail\b", " ", text)  # written so in Russian and Kazakh too
    text = re.sub(r"sha256\(\w+\)", " ", text)  # a formula (the queue's fairness proof)
    for word in re.findall(r"\b[A-Za-z]*[a-z][A-Za-z]{2,}\b", text):
        if word not in ALLOWED_LATIN:
            found.append(f"latin: {word!r}")
    return sorted(set(found))


class Callbacks(list):
    """The sandbox gateway's callbacks, kept instead of going to the broker."""


@pytest.fixture
def callbacks(monkeypatch):
    # At the outbox's fast path: the callbacks' bodies are kept, the rest
    # (the ticket mail) stays in the outbox as if no worker ran.
    from sandbox.gateway import CALLBACK_KIND as SANDBOX_CALLBACK
    from ticketing import outbox
    from ticketing.models import OutboxMessage

    kept = Callbacks()

    def enqueue(message_id, delay_seconds):
        message = OutboxMessage.objects.get(pk=message_id)
        if message.kind == SANDBOX_CALLBACK:
            kept.append(message.payload["body"])

    monkeypatch.setattr(outbox, "_enqueue", enqueue)
    return kept


def _deliver(client: Client, bodies: list[dict]) -> None:
    from payments import sandbox

    for body in bodies:
        raw = json.dumps(body).encode()
        response = client.post(
            "/api/v1/payments/sandbox/callback/",
            data=raw,
            content_type="application/json",
            HTTP_X_SANDBOX_SIGNATURE=sandbox.sign(raw),
        )
        assert response.status_code == 200, response.content


def _walk(client: Client, callbacks: Callbacks, capture) -> dict[str, str]:
    """A buyer's whole visit, through what the pages offer; returns {page: html}."""
    pages: dict[str, str] = {}

    def get(name: str, url: str, status: int = 200) -> str:
        response = client.get(url)
        assert response.status_code == status, (name, url, response.status_code)
        pages[name] = response.content.decode()
        return pages[name]

    home = get("home", "/")
    assert f"/e/{PRESALE_SLUG}/" in home and f"/e/{DEMO_SLUG}/" in home
    get("stadium event page", f"/e/{DEMO_SLUG}/")
    get("queue page", f"/e/{DEMO_SLUG}/queue/")
    fan = Section.objects.get(venue__events__slug=DEMO_SLUG, code="FAN")
    get("standing section page", f"/e/{DEMO_SLUG}/s/{fan.pk}/")
    get("presale event page", f"/e/{PRESALE_SLUG}/")
    centre = Section.objects.get(venue__events__slug=PRESALE_SLUG, code="PC")
    get("seated section page", f"/e/{PRESALE_SLUG}/s/{centre.pk}/")

    seats = EventSeat.objects.filter(section=centre, status="available").order_by("seat__number")
    held = client.post(f"/e/{PRESALE_SLUG}/hold/", {"seats": [seats[0].pk, seats[1].pk]})
    assert held.status_code == 302, held.content
    get("checkout", held["Location"])
    contact = {"email": "buyer@example.com", "name": "Айгерим Сапарова", "phone": ""}
    ordered = client.post(held["Location"], contact)
    assert ordered.status_code == 302, ordered.content
    pay_url = ordered["Location"]
    get("pay page", pay_url)
    started = client.post(pay_url)
    assert started.status_code in (302, 303), started.content
    gateway_url = started["Location"]
    get("gateway card form", gateway_url)

    card = {"exp_month": "12", "exp_year": "2030", "cvc": "123", "holder": "AIGERIM S"}
    refused = client.post(gateway_url, {"card_number": "4111 1111 1111 1111", **card})
    assert refused.status_code == 200
    pages["gateway, other card refused"] = refused.content.decode()
    with capture(execute=True):
        paid = client.post(gateway_url, {"card_number": "4400 4300 0000 0001", **card})
    assert paid.status_code == 303, paid.content
    with capture(execute=True):
        _deliver(client, callbacks)
    order_url = pay_url.removesuffix("pay/")
    get("order page", order_url)
    get("sign-in page", "/account/signin/")
    get("error page", "/no-such-page/", status=404)
    return pages


REFUSAL = {
    "ru": "принимает только карты, номер которых начинается с 440043",  # noqa: RUF001
    "kk": "тек нөмірі 440043 деп басталатын карталарды қабылдайды",
}
PAID = {"ru": "Оплачен", "kk": "Төленді"}


@pytest.mark.django_db
@pytest.mark.parametrize("language", LANGUAGES)
def test_a_buyer_sees_no_english_on_any_page(
    language, callbacks, django_capture_on_commit_callbacks, settings, tmp_path
):
    settings.DATA_DIR = tmp_path  # the demo's partner key file goes here
    with django_capture_on_commit_callbacks(execute=True):  # the rooms reach Redis
        demo_load(places=500, presale=True)
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    pages = _walk(client, callbacks, django_capture_on_commit_callbacks)

    # The presale refused the other card with its rule, then took the partner's.
    assert REFUSAL[language] in pages["gateway, other card refused"]
    assert PAID[language] in pages["order page"]

    catalog_english = _catalog_english()
    names_en = set()
    for model in (Venue, Section, PriceTier):
        for row in model.objects.values("name", "name_en"):
            if row["name_en"] and row["name_en"] != row["name"]:
                names_en.add(row["name_en"])
    problems = {
        name: found
        for name, page in pages.items()
        if (found := _english_on(page, catalog_english, names_en))
    }
    assert problems == {}, json.dumps(problems, ensure_ascii=False, indent=1)
