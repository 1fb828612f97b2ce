"""The second demo event's presale, open now on the site for partner-bank Visa
cards (BIN 440043): another card is refused with the reason, the partner card pays."""

from __future__ import annotations

import pytest

from journeys.journey import (
    best_available,
    card_form,
    contact_details,
    open_event,
    pay_card,
    tickets_issued,
)

pytestmark = [pytest.mark.journey, pytest.mark.browser]
PRESALE_TITLE = "Ulytau"
CARD_NOT_PARTNER = "4111 1111 1111 1111"  # Visa, another bank
CARD_PARTNER = "4400 4300 0000 0001"  # Visa, BIN 440043


def test_presale_refuses_another_banks_card_then_takes_the_partner_card(desktop, unique_email):
    j = desktop
    page = j.page
    j.open_home()
    open_event(j, title=PRESALE_TITLE)
    # No waiting room for this sale: the person picks seats straight away.
    assert not page.get_by_role("link", name=j.t("Join the waiting room")).count()
    best_available(j, quantity=2)
    contact_details(j, email=unique_email)
    card_form(j)
    rule = page.locator("[data-card-rule]").inner_text()
    assert "440043" in rule, f"the gateway does not say which cards it takes: {rule!r}"
    refusal = j.t(
        "The merchant accepts only cards starting with %(bins)s for this payment.", bins="440043"
    )
    pay_card(j, CARD_NOT_PARTNER, step="other-bank-refused", texts=[refusal])
    pay_card(j, CARD_PARTNER, step="paid-at-gateway")
    tickets_issued(j, count=2)
    j.finish()
