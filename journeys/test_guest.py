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
