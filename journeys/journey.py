"""A buyer's walk through the site: one browser context, a screenshot and the
same checks at every step (status, key text, translated text, images, no
broken resource, no script error), QR codes read back at the end."""

from __future__ import annotations

import ast
import io
import re
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from journeys.stack import ARTIFACTS, ROOT, Stack

DESKTOP = {"viewport": {"width": 1280, "height": 900}}
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 3,
    "is_mobile": True,
    "has_touch": True,
    "user_agent": (
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Chrome/131.0 Mobile Safari/537.36"
    ),
}
# Demo data a person would see in English if the demo had no ru/kk names
# (issue 14, item 6): tiers and sections of the Central Stadium.
DEMO_ENGLISH = re.compile(r"\b(Fan zone|Category \d|Lower \d+|Upper \d+|standing\))")
# Placeholders in msgids: %(name)s, %s, {{ name }}.
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|%[sd]|\{\{[^}]*\}\}")


def _po_entries(path: Path) -> Iterable[tuple[str, str]]:
    """(msgid, msgstr) pairs of a .po file (plural forms: the singular and msgstr[0])."""
    entry: dict[str, str] = {}
    key = None
    for line in [*path.read_text(encoding="utf-8").splitlines(), ""]:
        line = line.strip()
        if not line or line.startswith("#"):
            if entry.get("msgid"):
                yield entry["msgid"], entry.get("msgstr", entry.get("msgstr[0]", ""))
            if not line:
                entry, key = {}, None
            continue
        if line.startswith('"'):
            if key:
                entry[key] += ast.literal_eval(line)
            continue
        key, _, value = line.partition(" ")
        if key == "msgid" and entry.get("msgid"):
            yield entry["msgid"], entry.get("msgstr", entry.get("msgstr[0]", ""))
            entry = {}
        entry[key] = ast.literal_eval(value)


@cache
def english_phrases() -> tuple[str, ...]:
    """English source strings that a ru or kk page must not show: the pieces of
    every catalog msgid whose ru/kk msgstr differs, long enough (two words, ten
    letters) not to match names, codes or brand words by chance."""
    phrases: set[str] = set()
    catalogs = [
        *ROOT.glob("locale/*/LC_MESSAGES/django.po"),
        *ROOT.glob("*/locale/*/LC_MESSAGES/django.po"),
    ]
    for po in catalogs:
        if po.parts[-3] not in {"ru", "kk"}:
            continue
        for msgid, msgstr in _po_entries(po):
            if not msgstr or msgstr == msgid:
                continue
            for piece in PLACEHOLDER.split(msgid):
                piece = piece.strip(" .:,;()—-\n")
                if len(piece) >= 10 and " " in piece and piece not in msgstr:
                    phrases.add(piece)
    # Strings marked for translation that no catalog has yet show in English too.
    translated = {m for po in catalogs if po.parts[-3] in {"ru", "kk"} for m, _ in _po_entries(po)}
    for msgid in _source_msgids():
        if msgid not in translated:
            for piece in PLACEHOLDER.split(msgid):
                piece = piece.strip(" .:,;()—-\n")
                if len(piece) >= 10 and " " in piece:
                    phrases.add(piece)
    return tuple(sorted(phrases, key=len, reverse=True))


TEMPLATE_MSGID = re.compile(r"""\{%\s*trans(?:late)?\s+(?:"([^"]+)"|'([^']+)')""")
BLOCK_MSGID = re.compile(
    r"\{%\s*blocktrans(?:late)?\b[^%]*%\}(.*?)\{%\s*endblocktrans(?:late)?\s*%\}", re.S
)
PYTHON_MSGID = re.compile(
    r"""\b(?:_|gettext|gettext_lazy|ngettext|ngettext_lazy)\(\s*"((?:[^"\\]|\\.)+)\""""
)


def _source_msgids() -> set[str]:
    """The msgids the buyer-facing sources mark for translation (templates and app code)."""
    found: set[str] = set()
    for path in [*ROOT.glob("templates/**/*.html"), *ROOT.glob("*/templates/**/*.html")]:
        text = path.read_text(encoding="utf-8")
        found.update(a or b for a, b in TEMPLATE_MSGID.findall(text))
        for block in BLOCK_MSGID.findall(text):
            found.update(part.strip() for part in re.split(r"\{%\s*plural\s*%\}", block))
    for path in ROOT.glob("*/**/*.py"):
        if {".venv", "tests", "migrations", "bench", "journeys"} & set(
            path.relative_to(ROOT).parts
        ):
            continue
        found.update(PYTHON_MSGID.findall(path.read_text(encoding="utf-8")))
    return found


def untranslated(text: str) -> list[str]:
    found = [p for p in english_phrases() if p in text]
    found += sorted(set(m.group(0) for m in DEMO_ENGLISH.finditer(text)))
    return found


@dataclass
class Journey:
    """One person's journey. `step()` after every action that changes the page."""

    name: str
    stack: Stack
    page: object
    folder: Path = field(init=False)
    number: int = 0
    problems: list[str] = field(default_factory=list)
    _bad_responses: list[str] = field(default_factory=list)
    _errors: list[str] = field(default_factory=list)
    _document: object = None
    _icons_seen: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.folder = ARTIFACTS / self.name
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder.mkdir(parents=True)
        self.page.set_default_timeout(15_000)
        self.page.on("response", self._on_response)
        self.page.on("pageerror", lambda exc: self._errors.append(f"script error: {exc}"))

    def _on_response(self, response) -> None:
        if response.request.is_navigation_request() and response.frame == self.page.main_frame:
            self._document = response
        # Navigations are checked by step(); this sees what the page itself loads.
        if response.status >= 400 and response.request.resource_type != "document":
            self._bad_responses.append(f"{response.status} {response.url}")

    # --- language -------------------------------------------------------------
    @property
    def language(self) -> str:
        return self.page.evaluate("document.documentElement.lang")

    def t(self, msgid: str, **values) -> str:
        """`msgid` as the site says it in the page's current language (the site's
        own catalogs, read through Django's gettext)."""
        from django.utils import translation

        with translation.override(self.language):
            text = translation.gettext(msgid)
        return text % values if values else text

    def tn(self, singular: str, plural: str, n: int, **values) -> str:
        """A plural message as the site says it for `n` in the page's language."""
        from django.utils import translation

        with translation.override(self.language):
            text = translation.ngettext(singular, plural, n)
        return text % values if values else text

    # --- steps ----------------------------------------------------------------
    def open_home(self) -> None:
        response = self.page.goto(self.stack.url + "/")
        self.step("home", response)

    def go(self, step: str, action: Callable[[], object], *, status: int = 200, **checks):
        """Do `action` (a click or a submit the page offers), wait for the page it
        leads to, and check it."""
        with self.page.expect_navigation(wait_until="load", timeout=30_000) as nav:
            action()
        return self.step(step, nav.value, status=status, **checks)

    def step(
        self,
        step: str,
        response=None,
        *,
        status: int = 200,
        texts: Iterable[str] = (),
        heading: str | None = None,
    ):
        """Screenshot the page as it is now, then check what the person sees."""
        self.page.wait_for_load_state("load")
        # A page reached by itself (meta refresh, script): its own document response.
        response = response if response is not None else self._document
        self.number += 1
        label = f"{self.number:02d}-{step}"
        self.page.screenshot(path=str(self.folder / f"{label}.png"), full_page=True)
        if self.page.viewport_size["width"] < 600:
            # On a phone the person sees one screen at a time, sticky bars included.
            self.page.screenshot(path=str(self.folder / f"{label}.screen.png"))
        where = f"{self.name} step {label} ({self.page.url})"
        seen = self.page.inner_text("body")
        if response is not None and response.status != status:
            raise AssertionError(
                f"{where}: HTTP {response.status}, expected {status}; the page says:\n"
                f"{seen[:600]}" + self._report()
            )
        for text in texts:
            if text not in seen:
                raise AssertionError(
                    f"{where}: {text!r} is not on the page; it says:\n{seen[:1200]}"
                    + self._report()
                )
        if heading is not None:
            h1 = self.page.locator("h1").first.inner_text()
            assert heading in h1, f"{where}: heading {h1!r}, expected {heading!r}"
        self._soft_checks(where, seen)
        return response

    def _soft_checks(self, where: str, seen: str) -> None:
        """Problems that must fail the journey but need not stop it: collected and
        reported together by finish(), each with its step."""
        if self.language in {"ru", "kk"}:
            for phrase in untranslated(seen):
                self.problems.append(f"{where}: English on a {self.language} page: {phrase!r}")
        broken = self.page.evaluate(
            """() => Array.from(document.images)
                .filter(img => !(img.complete && img.naturalWidth > 0))
                .map(img => img.currentSrc || img.src)"""
        )
        for src in broken:
            self.problems.append(f"{where}: image did not load: {src}")
        icon = self.page.evaluate(
            """() => (document.querySelector('link[rel~=icon]') || {}).href
                || new URL('/favicon.ico', location.href).href"""
        )
        if icon not in self._icons_seen:
            # Headless Chromium does not fetch the tab's icon; a person's browser does.
            self._icons_seen.add(icon)
            answer = self.page.request.get(icon)
            if answer.status != 200:
                self.problems.append(f"{where}: the page's icon {icon} answers {answer.status}")
        for bad in self._bad_responses:
            self.problems.append(f"{where}: the page loaded {bad}")
        for error in self._errors:
            self.problems.append(f"{where}: {error}")
        self._bad_responses.clear()
        self._errors.clear()

    def _report(self) -> str:
        if not self.problems:
            return ""
        return "\nearlier problems:\n  " + "\n  ".join(self.problems)

    def finish(self) -> None:
        assert not self.problems, f"{self.name}: " + "\n  ".join(self.problems)

    # --- common stretches of a purchase --------------------------------------
    def wait_on_queue_page(self, *, timeout: float = 60) -> None:
        """Stay on the waiting page as a person would, until it offers the tickets."""
        go = self.page.locator("#queue-status a.btn")
        go.wait_for(state="visible", timeout=timeout * 1000)
        self.step("queue-turn", texts=[self.t("It is your turn!")])

    def qr_codes(self) -> dict[str, str]:
        """Ticket code shown on each ticket card -> text read from its QR image."""
        import zxingcpp
        from PIL import Image

        decoded: dict[str, str] = {}
        cards = self.page.locator("section.ticket")
        for i in range(cards.count()):
            card = cards.nth(i)
            shown = card.locator("code").inner_text().strip()
            img = card.locator("img.qr")
            img.scroll_into_view_if_needed()
            self.page.wait_for_function(
                "img => img.complete && img.naturalWidth > 0", arg=img.element_handle()
            )
            picture = Image.open(io.BytesIO(img.screenshot())).convert("L")
            results = zxingcpp.read_barcodes(picture)
            assert len(results) == 1, f"{self.name}: ticket {shown}: {len(results)} QR codes read"
            decoded[shown] = results[0].text
        return decoded


# --- the stretches every purchase walks ---------------------------------------
DEMO_TITLE = "Backstreet Boys"
CARD_OK = "5555 5555 5555 4444"


def buy_admission(j: Journey, *, title: str = DEMO_TITLE) -> None:
    """Home → the event → its waiting room → joined → admitted → back at the event."""
    page = j.page
    open_event(j, title=title)
    j.go(
        "waiting-room",
        lambda: page.get_by_role("link", name=j.t("Join the waiting room")).click(),
        texts=[j.t("Waiting room")],
    )
    j.go("joined", lambda: page.get_by_role("button", name=j.t("Join the queue")).click())
    j.wait_on_queue_page()
    j.go(
        "event-admitted",
        lambda: page.get_by_role("link", name=j.t("Go to the tickets")).click(),
        heading=title,
    )


def best_available(j: Journey, *, quantity: int, tier: str | None = None) -> None:
    page = j.page
    form = page.locator("form.best-available")
    form.get_by_label(j.t("Tickets")).select_option(str(quantity))
    if tier:
        form.get_by_label(j.t("Price category")).select_option(label=re.compile(re.escape(tier)))
    j.go(
        "checkout",
        lambda: form.get_by_role("button", name=j.t("Find seats")).click(),
        texts=[j.t("Your reservation")],
    )


def contact_details(j: Journey, *, email: str, name: str = "Aigerim Bekova") -> None:
    page = j.page
    page.get_by_label(j.t("E-mail")).fill(email)
    page.get_by_label(j.t("Name on the tickets")).fill(name)
    j.go(
        "payment",
        lambda: page.get_by_role("button", name=j.t("Continue to payment")).click(),
        texts=[j.t("Total")],
    )


def card_form(j: Journey, step: str = "card-form") -> None:
    j.go(
        step,
        lambda: j.page.get_by_role("button", name=j.t("Pay by card")).click(),
        texts=[j.t("Sandbox payment gateway (test cards only)")],
    )


def pay_card(j: Journey, number: str, *, step: str, status: int = 200, texts=()) -> None:
    page = j.page
    page.get_by_label(j.t("Card number")).fill(number)
    page.get_by_label(j.t("Expiry month")).fill("12")
    page.get_by_label(j.t("Expiry year")).fill("2030")
    page.get_by_label(j.t("CVC")).fill("123")
    page.get_by_label(j.t("Cardholder")).fill("AIGERIM BEKOVA")
    j.go(step, lambda: page.get_by_role("button", name=j.t("Pay"), exact=True).click(),
         status=status, texts=texts)  # fmt: skip


def pay_and_get_tickets(j: Journey, *, email: str, count: int, step: str = "paid-at-gateway"):
    """Checkout to tickets with a card that succeeds (CARD_OK): contact form,
    the pay page, the gateway's card form, the paid order with its QR codes."""
    contact_details(j, email=email)
    card_form(j)
    pay_card(j, CARD_OK, step=step)
    return tickets_issued(j, count=count)


def tickets_issued(j: Journey, *, count: int) -> list[str]:
    """The gateway sent the person back: wait (the page refreshes itself) for
    the paid order, then read every QR back and compare with the codes shown."""
    page = j.page
    page.locator("[data-status=paid]").wait_for(timeout=45_000)
    j.step("order-paid", texts=[j.t("Paid")])
    cards = page.locator("section.ticket")
    assert cards.count() == count, f"{j.name}: {cards.count()} tickets shown, expected {count}"
    decoded = j.qr_codes()
    shown = list(decoded)
    assert len(set(shown)) == count, f"{j.name}: ticket codes shown {shown}"
    wrong = {code: text for code, text in decoded.items() if text != code}
    assert not wrong, f"{j.name}: QR images carry other codes than shown: {wrong}"
    return shown


def switch_language(j: Journey, code: str, *, texts=()) -> None:
    """The header's language switcher (it submits itself on change)."""
    select = j.page.locator("form.lang select[name=language]")
    j.go(f"language-{code}", lambda: select.select_option(code), texts=texts)
    assert j.language == code, f"{j.name}: the page is in {j.language!r} after choosing {code!r}"


def header_link(j: Journey, msgid: str, step: str, **checks) -> None:
    header = j.page.locator("header.site-header")
    j.go(step, lambda: header.get_by_role("link", name=j.t(msgid), exact=True).click(), **checks)


def open_event(j: Journey, *, title: str = DEMO_TITLE, step: str = "event") -> None:
    # The first card of that title: a show duplicated to another date
    # (journeys/test_staff.py) is a second card with the same title.
    card = j.page.locator("article.event-card", has_text=title).first
    j.go(step, lambda: card.get_by_role("link", name=j.t("Tickets")).click(), heading=title)


def refused_on_event_page(j: Journey, *, quantity: int, step: str) -> str:
    """Try best available; the page must come back to the event with a message."""
    form = j.page.locator("form.best-available")
    form.get_by_label(j.t("Tickets")).select_option(str(quantity))
    j.go(step, lambda: form.get_by_role("button", name=j.t("Find seats")).click())
    messages = j.page.locator("ul.messages li")
    assert messages.count(), f"{j.name} {step}: no message on {j.page.url}"
    return messages.first.inner_text()


def rejoin(j: Journey, *, step: str = "waiting-room-again") -> None:
    """From the event page back through the waiting room, as the pages offer."""
    page = j.page
    link = page.get_by_role("link", name=j.t("Join the waiting room"))
    assert link.count(), (
        f"{j.name} {step}: the event page offers no way back into the waiting room; "
        f"it says: {page.locator('ul.messages').all_inner_texts()}"
    )
    j.go(step, lambda: link.click())
    join = page.get_by_role("button", name=j.t("Join the queue"))
    assert join.count(), (
        f"{j.name} {step}: the waiting room offers no way to join again; it says:\n"
        + page.inner_text("#queue")
    )
    j.go(f"{step}-joined", lambda: join.click())
    j.wait_on_queue_page()
    j.go(f"{step}-admitted",
         lambda: page.get_by_role("link", name=j.t("Go to the tickets")).click())  # fmt: skip
