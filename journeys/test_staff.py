"""Staff journeys in the admin, each with the buyer on the other side: a
partial refund with a reason that ends in the buyer's e-mail, and an event
duplicated to another date that a buyer then buys from the home page."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
import time
from datetime import date, timedelta

import pytest

from journeys.journey import (
    DESKTOP,
    Journey,
    best_available,
    card_form,
    contact_details,
    pay_card,
    tickets_issued,
)
from journeys.stack import ROOT, TEST_WORKER_ENV, Stack

pytestmark = [pytest.mark.journey, pytest.mark.browser]
PRESALE_TITLE = "Ulytau"
CARD_PARTNER = "4400 4300 0000 0001"  # the presale takes the partner bank's Visa only


@pytest.fixture
def staff(browser, stack, request):
    """A staff member at a desktop browser (Russian), signed out."""
    context = browser.new_context(
        **DESKTOP, locale="ru-RU", timezone_id="Asia/Almaty", base_url=stack.url
    )
    j = Journey(
        name=request.node.name.removeprefix("test_") + "-staff", stack=stack,
        page=context.new_page(),
    )  # fmt: skip
    yield j
    context.close()
    if j.problems:
        (j.folder / "problems.txt").write_text("\n".join(j.problems) + "\n")


def staff_account(stack: Stack, role: str) -> tuple[str, str]:
    """A new staff account in one of the role groups (ticketing 0003), made as
    a supervisor would (manage.py against the stack's database)."""
    username = f"{role.replace(' ', '-')}-{secrets.token_hex(3)}"
    password = secrets.token_urlsafe(12)
    code = (
        "from django.contrib.auth.models import Group, User; "
        f"u = User.objects.create_user({username!r}, password={password!r}, is_staff=True); "
        f"u.groups.add(Group.objects.get(name={role!r}))"
    )
    env = {
        **os.environ,
        "DATABASE_URL": stack.database_url,
        "REDIS_URL": stack.redis_url,
        "KASSA_DATA_DIR": str(stack.data_dir),
        "SECRET_KEY": os.environ.get("SECRET_KEY") or secrets.token_urlsafe(32),
    }
    for key in TEST_WORKER_ENV:
        env.pop(key, None)
    subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT, env=env, check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return username, password


def staff_sign_in(j: Journey, role: str) -> None:
    """/admin/ → the login form with a new account of `role` → the admin index."""
    username, password = staff_account(j.stack, role)
    page = j.page
    j.step("admin-login", page.goto(j.stack.url + "/admin/"))
    page.locator("#id_username").fill(username)
    page.locator("#id_password").fill(password)
    j.go("admin-index", lambda: page.locator("input[type=submit]").click())
    assert page.locator("#user-tools").count(), f"{j.name}: not signed in: {page.url}"


def admin_model(j: Journey, plural: str) -> None:
    """The admin index's link to a model's list, by its (translated) plural name."""
    name = re.compile(f"^{re.escape(j.t(plural))}$", re.I)
    j.go(plural, lambda: j.page.locator("#content-main th a", has_text=name).first.click())


def buy_presale(
    j: Journey, *, email: str, quantity: int, title_link=None, path: str | None = None
) -> str:
    """Home → the presale event (the card holding `title_link`, else the first
    "Ulytau") → best available → pay with the partner card; the order code."""
    page = j.page
    j.open_home()
    card = page.locator(
        "article.event-card", has=title_link or page.locator("h2", has_text=PRESALE_TITLE)
    )
    j.go("event", lambda: card.first.get_by_role("link", name=j.t("Tickets")).click(),
         heading=PRESALE_TITLE)  # fmt: skip
    assert path is None or page.url.endswith(path), f"{j.name}: at {page.url}, not {path}"
    best_available(j, quantity=quantity)
    contact_details(j, email=email)
    card_form(j)
    pay_card(j, CARD_PARTNER, step="paid-at-gateway")
    tickets_issued(j, count=quantity)
    return re.search(r"/orders/([A-Z0-9]+)/", page.url).group(1)


def refund_mail(j: Journey, email: str, subject: str, *, timeout: float = 60):
    """The refund e-mail the stack's mail backend printed for `email` (the
    worker sends it from the outbox, a moment after the staff confirmed)."""
    deadline = time.monotonic() + timeout
    while True:
        for message in j.stack.mails_to(email):
            if " ".join(str(message["Subject"]).split()) == subject:  # unfolded
                return message
        if time.monotonic() > deadline:
            raise AssertionError(f"no mail {subject!r} to {email}:\n{j.stack.log_tail()}")
        time.sleep(0.5)


def test_staff_refunds_one_ticket_with_a_reason_and_the_buyer_is_told(desktop, staff, unique_email):
    buyer = desktop
    code = buy_presale(buyer, email=unique_email, quantity=2)

    j, page = staff, staff.page
    staff_sign_in(j, "box office")
    # The box office sees orders, not the waiting rooms or API keys.
    assert not page.locator('#content-main a[href^="/admin/queueing/"]').count()
    assert not page.locator('#content-main a[href^="/admin/api/apikey/"]').count()
    admin_model(j, "orders")
    page.locator("#searchbar").fill(unique_email)
    j.go("order-found", lambda: page.locator("#changelist-search input[type=submit]").click(),
         texts=[code])  # fmt: skip
    j.go("order", lambda: page.get_by_role("link", name=code, exact=True).click(), texts=[code])
    j.go("refund-page", lambda: page.get_by_role("link", name=j.t("Refund…")).click(),
         texts=[j.t("Tickets to refund"), j.t("Reason"), unique_email])  # fmt: skip
    # A confirm without a reason: the page says so, nothing is refunded.
    choices = page.locator("input[name=tickets]")
    assert choices.count() == 2, f"{j.name}: {choices.count()} tickets offered, expected 2"
    choices.first.check()
    page.locator("#id_reason").fill("   ")
    j.go("no-reason", lambda: page.get_by_role("button", name=j.t("Confirm the refund")).click(),
         texts=[j.t("Give the reason for the refund.")])  # fmt: skip
    refunded = page.locator("label", has=page.locator("input[name=tickets]")).first
    place, amount = refunded.inner_text().strip().split(" — ")
    page.locator("input[name=tickets]").first.check()
    reason = "Концерт перенесён для этого места: вид на сцену закрыт"
    page.locator("#id_reason").fill(reason)
    j.go("refunded", lambda: page.get_by_role("button", name=j.t("Confirm the refund")).click(),
         texts=[code, amount])  # fmt: skip
    assert "/change/" in page.url, f"{j.name}: after the refund the page is {page.url}"
    j.finish()

    # The buyer's e-mail, in the language they bought in, says what was refunded.
    subject = buyer.t("Refund for your order %(code)s: %(event)s", code=code, event=PRESALE_TITLE)
    message = refund_mail(buyer, unique_email, subject)
    # The part is 8bit UTF-8 text as the console printed it: get_content() would
    # turn its Cyrillic into \\u escapes (email's raw-unicode-escape for str input).
    body = message.get_body(preferencelist=("plain",)).get_payload()
    for text in (place, amount, reason, buyer.t("Refunded tickets (no longer valid)")):
        assert text in body, f"{text!r} is not in the refund e-mail:\n{body}"
    # The order page: one ticket void (no QR), the other still valid with its QR.
    buyer.step("order-after-refund", buyer.page.reload(),
                texts=[f"{buyer.t('Refunded to you')}: {amount}"])  # fmt: skip
    assert buyer.page.locator("section.ticket").count() == 2
    assert buyer.page.locator("section.ticket img.qr").count() == 1
    buyer.finish()


def test_staff_duplicates_an_event_and_a_buyer_buys_the_new_date(phone, staff, unique_email):
    j, page = staff, staff.page
    staff_sign_in(j, "supervisor")
    admin_model(j, "events")
    # The demo's cinema showings fill the list's first pages: staff search.
    page.locator("#searchbar").fill(PRESALE_TITLE)
    j.go("event-search", lambda: page.locator("#searchbar").press("Enter"), texts=[PRESALE_TITLE])
    j.go("event", lambda: page.get_by_role("link", name=PRESALE_TITLE, exact=True).click())
    j.go("duplicate-page",
         lambda: page.get_by_role("link", name=j.t("Duplicate to another date…")).click(),
         texts=[j.t("Keep the blocked seats blocked")])  # fmt: skip
    starts = page.locator("#id_starts_at")
    # The day before, same time: the presale, moved by as much, is open now too.
    shown = starts.input_value()  # "YYYY-MM-DDTHH:MM", the event's wall clock
    day_before = date.fromisoformat(shown[:10]) - timedelta(days=1)
    starts.fill(day_before.isoformat() + shown[10:])
    slug = f"ulytau-encore-{secrets.token_hex(3)}"
    page.locator("#id_slug").fill(slug)
    j.go("duplicated", lambda: page.get_by_role("button", name=j.t("Duplicate the event")).click())
    assert page.locator("#id_slug").input_value() == slug, f"{j.name}: not the copy: {page.url}"
    assert page.locator("ul.messagelist li.success").count(), f"{j.name}: no success message"
    page.locator("#id_status").select_option("on_sale")
    j.go("on-sale", lambda: page.locator("input[name=_save]").click())
    assert page.locator("ul.messagelist li.success").count(), (
        f"{j.name}: the copy was not saved: " + page.locator("#content").inner_text()[:800]
    )
    j.finish()

    buyer = phone
    link = buyer.page.locator(f'a[href="/e/{slug}/"]')
    buy_presale(buyer, email=unique_email, quantity=1, title_link=link, path=f"/e/{slug}/")
    buyer.finish()
