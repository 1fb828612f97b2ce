"""Guests buy from the home page: best available on a desktop, chosen seats on a
phone, a standing place."""

from __future__ import annotations

import pytest

from journeys.journey import (
    CARD_OK,
    best_available,
    buy_admission,
    card_form,
    contact_details,
    pay_card,
    switch_language,
    tickets_issued,
)

pytestmark = [pytest.mark.journey, pytest.mark.browser]


def test_guest_best_available(desktop, unique_email):
    j = desktop
    j.open_home()
    buy_admission(j)
    best_available(j, quantity=2)
    contact_details(j, email=unique_email)
    card_form(j)
    pay_card(j, CARD_OK, step="paid-at-gateway")
    tickets_issued(j, count=2)
    j.finish()


@pytest.mark.browser_locale("en-US")
def test_standing_in_russian(desktop, unique_email):
    """An English browser; the person switches the site to Russian and buys
    three places in the fan zone from the stadium map."""
    j = desktop
    j.open_home()
    assert j.language == "en", f"an en-US browser first sees the site in {j.language!r}"
    switch_language(j, "ru", texts=["Мероприятия"])
    buy_admission(j)
    fan_zone = j.page.locator(
        "svg.stadium-map a.map-section", has=j.page.locator("text", has_text="FAN")
    )
    j.go("fan-zone", lambda: fan_zone.click(), texts=[j.t("Hold tickets")])
    j.page.get_by_label(j.t("Tickets")).fill("3")
    j.go("checkout", lambda: j.page.get_by_role("button", name=j.t("Hold tickets")).click(),
         texts=[j.t("Your reservation")])  # fmt: skip
    contact_details(j, email=unique_email)
    card_form(j)
    pay_card(j, CARD_OK, step="paid-at-gateway")
    tickets_issued(j, count=3)
    j.finish()
