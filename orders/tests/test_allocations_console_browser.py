"""The sale console's allocations in real headless Chromium: the used counts
refresh in place with the page's poll, and "Release now" asks first."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client

from accounts.selectors import Buyer
from events.models import Allocation, Section
from events.services import allocation_create
from orders.services.holds import hold_create
from orders.tests.factories import make_event
from ticketing.models import AuditEntry

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_console_refreshes_an_allocations_use_and_releases_it_after_confirming(
    browser, live_server, django_user_model
):
    event = make_event()
    section = Section.objects.get(venue=event.venue, kind=Section.Kind.SEATED)
    allocation = allocation_create(
        event=event, name="Bank", channel="partner:bank", section=section, quantity=6
    )
    boss = django_user_model.objects.create_superuser("boss", password="x")
    client = Client()
    client.force_login(boss)
    host = live_server.url.split("//", 1)[1].split(":")[0]
    context = browser.new_context(locale="en-GB")
    context.add_cookies(
        [
            {"name": name, "value": value, "domain": host, "path": "/"}
            for name, value in (
                (settings.SESSION_COOKIE_NAME, client.cookies[settings.SESSION_COOKIE_NAME].value),
                (settings.LANGUAGE_COOKIE_NAME, "en"),
            )
        ]
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        page.goto(f"{live_server.url}/staff/sales/{event.slug}/")
        row = page.locator(f"tr[data-allocation='{allocation.pk}']")
        assert row.locator("[data-a=held]").inner_text() == "0"
        seats = sorted(allocation.seats.values_list("pk", flat=True))[:2]
        hold_create(event=event, buyer=Buyer(channel="partner:bank", key="p:b:1"), seats=seats)
        page.wait_for_function(
            f"""() => document.querySelector("tr[data-allocation='{allocation.pk}'] """
            """[data-a=held]").textContent === "2" """,
            timeout=15000,
        )
        assert row.locator("[data-a=left]").inner_text() == "4"
        dialogs: list[str] = []

        def answer(dialog):
            dialogs.append(dialog.message)
            dialog.dismiss() if len(dialogs) == 1 else dialog.accept()

        page.on("dialog", answer)
        row.locator("button").click()  # dismissed: nothing happens
        assert Allocation.objects.get(pk=allocation.pk).released_at is None
        with page.expect_navigation():
            row.locator("button").click()
        assert "Release “Bank” now?" in dialogs[0]
        assert "Released: what was left is on general sale now." in page.content()
        assert page.locator(
            f"tr[data-allocation='{allocation.pk}'] [data-a=state]"
        ).inner_text() == ("released")
        assert AuditEntry.objects.filter(action="allocation.released").count() == 1
        assert errors == []
    finally:
        context.close()
