"""Payment paths a person meets at the sandbox gateway: a declined card then
another one, and a 3-D Secure confirmation."""

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
CARD_DECLINED = "4000 0000 0000 0002"
CARD_3DS = "4000 0000 0000 3220"


def test_declined_card_then_another_card_in_kazakh(desktop, unique_email):
    j = desktop
    j.open_home()
    switch_language(j, "kk")
    buy_admission(j)
    best_available(j, quantity=1)
    contact_details(j, email=unique_email)
    card_form(j)
    pay_card(j, CARD_DECLINED, step="declined", texts=[j.t("Payment refused")])
    page = j.page
    j.go(
        "back-to-shop",
        lambda: page.get_by_role("link", name=j.t("Back to the shop")).click(),
        texts=[
            j.t("The payment did not go through."),
            j.t("You can try again with another card until the order expires."),
        ],
    )
    j.go(
        "card-form-again",
        lambda: page.get_by_role("button", name=j.t("Pay again")).click(),
        texts=[j.t("Sandbox payment gateway (test cards only)")],
    )
    pay_card(j, CARD_OK, step="paid-at-gateway")
    tickets_issued(j, count=1)
    j.finish()


@pytest.mark.browser_locale("ru-RU")
def test_three_d_secure_in_english(desktop, unique_email):
    j = desktop
    j.open_home()
    switch_language(j, "en", texts=["Events"])
    buy_admission(j)
    best_available(j, quantity=2)
    contact_details(j, email=unique_email)
    card_form(j)
    pay_card(j, CARD_3DS, step="3-d-secure", texts=["3-D Secure"])
    page = j.page
    page.get_by_label(j.t("Code")).fill("123456")
    j.go("confirmed", lambda: page.get_by_role("button", name=j.t("Confirm")).click())
    tickets_issued(j, count=2)
    j.finish()
