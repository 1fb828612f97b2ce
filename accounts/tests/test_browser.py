from __future__ import annotations

import re

import pytest
from django.core import mail

from accounts.models import Profile

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_sign_in_by_email_in_a_real_browser(live_server, settings, page):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    page.goto(f"{live_server.url}/account/tickets/")
    assert "/account/signin/" in page.url  # sent to sign in, `next` kept
    page.fill("input[name=identity]", "Fan@Example.com")
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/account/signin/code/$"))
    assert "fan@example.com" in page.content()
    code = re.search(r"\b(\d{6})\b", mail.outbox[-1].body).group(1)
    page.fill("input[name=code]", "000000" if code != "000000" else "111111")
    page.click("form[action$='/signin/code/'] button[type=submit]")
    assert page.locator(".errorlist").inner_text().startswith("Неверный код")  # ru browser
    page.fill("input[name=code]", code)
    page.click("form[action$='/signin/code/'] button[type=submit]")
    page.wait_for_url(re.compile(r"/account/tickets/$"))
    assert page.locator("h1").inner_text() == "Мои билеты"
    assert Profile.objects.filter(email="fan@example.com").exists()
