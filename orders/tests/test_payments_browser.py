"""A buyer pays in a real browser: pay page → gateway card form → waiting page → tickets."""

from __future__ import annotations

import pytest
from django.test import Client

from orders.tests.conftest_payments import gateway_outbox  # noqa: F401
from orders.tests.factories import event_make, order_make, post_callback

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_buyer_pays_and_sees_tickets_with_qr(live_server, page, gateway_outbox, settings):  # noqa: F811
    settings.SITE_URL = live_server.url  # as the launcher sets it: links follow the port
    order = order_make(event=event_make(seats=2, brands=["visa"]), seat_count=2)
    page.goto(f"{live_server.url}/orders/{order.code}/pay/?t={order.access_token}")
    page.click("main form button[type=submit]")
    page.wait_for_url("**/sandbox-gateway/pay/**")
    assert "Visa" in page.inner_text("[data-card-rule]")

    def fill(number: str) -> None:
        page.fill("#card_number", number)
        page.fill("#exp_month", "12")
        page.fill("#exp_year", "2099")
        page.fill("#cvc", "123")
        page.click("main form button[type=submit]")

    fill("5555 5555 5555 4444")  # Mastercard on a Visa-only sale: refused, reason shown
    assert "Visa" in page.inner_text(".errorlist")
    fill("4400 4300 0000 0001")
    page.wait_for_url("**/return/**")
    assert page.locator("[data-state=waiting]").count() == 1

    [body] = gateway_outbox.bodies()
    assert post_callback(Client(), body).json() == {"result": "paid"}
    page.wait_for_selector("[data-status=paid]", timeout=10_000)  # the page refreshes itself
    assert page.locator("img.qr").count() == 2
    page.wait_for_function(
        "[...document.querySelectorAll('img.qr')].every(i => i.complete && i.naturalWidth > 0)"
    )
