"""The checkout page in real headless Chromium: the countdown ticks, the form leads to payment."""

from __future__ import annotations

import re

import pytest
from django.core import signing
from playwright.sync_api import expect

from accounts.middleware import COOKIE, SALT
from accounts.selectors import Buyer
from orders.models import Order
from orders.services.holds import hold_create
from orders.tests.factories import make_event, seat_ids

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_countdown_ticks_and_contact_form_goes_to_payment(page, live_server):
    event = make_event()
    page.goto(f"{live_server.url}/healthz")  # any response sets the device cookie
    raw = next(c["value"] for c in page.context.cookies() if c["name"] == COOKIE)
    device = signing.loads(raw, salt=SALT)
    hold = hold_create(
        event=event, buyer=Buyer(channel="web", key=f"device:{device}"), seats=seat_ids(event)[:2]
    )
    # The countdown is an inline script: it ticks only with the policy's nonce.
    refused: list[str] = []
    page.on(
        "console",
        lambda msg: refused.append(msg.text) if "Content Security Policy" in msg.text else None,
    )
    page.goto(f"{live_server.url}/checkout/{hold.pk}/")
    left = page.locator("#countdown-left")
    first = left.inner_text()
    assert re.fullmatch(r"\((9|10):\d\d\)", first)
    page.wait_for_function(
        "t => document.getElementById('countdown-left').textContent !== t", arg=first
    )
    page.fill("#id_email", "not-an-email")
    page.fill("#id_name", "Aigerim")
    page.click("button[type=submit] >> nth=0")
    assert page.locator(".errorlist").count() >= 1
    page.fill("#id_email", "a@example.kz")
    page.click("button[type=submit] >> nth=0")
    order = Order.objects.get(hold=hold)
    page.wait_for_url(re.compile(rf"/orders/{order.code}/pay/$"))
    # The header's language select (static/js/kassa.js, no inline onchange) applies on change.
    page.select_option("form.lang select", "en")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    assert not refused, refused
