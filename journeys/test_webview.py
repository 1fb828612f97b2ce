"""A bank's app sells through kassa's pages in its webview: the bank's server
mints a one-time link for its customer, the app opens it on a phone, the
customer queues, picks seats, pays at the sandbox gateway and is sent back
into the app by its return link with the order code."""

from __future__ import annotations

import hashlib
import json
import urllib.request

import psycopg
import pytest

from journeys.journey import (
    CARD_OK,
    DEMO_TITLE,
    best_available,
    card_form,
    contact_details,
    pay_card,
)

pytestmark = [pytest.mark.journey, pytest.mark.browser]
DEMO_SLUG = "backstreet-boys-almaty"
# The demo partner (events.demo): webview on, return link halykapp://kassa/orders/{code}.
APP_LINK = "halykapp://kassa/orders/"


def _mint(stack, *, buyer_ref: str, phone: str) -> dict:
    """What the bank's server does: POST /api/v1/webview/tokens/ with its key."""
    key = (stack.data_dir / "demo_partner_key.txt").read_text().strip()
    body = {
        "buyer_ref": buyer_ref,
        "phone_sha256": hashlib.sha256(phone.encode()).hexdigest(),
        "event": DEMO_SLUG,
    }
    request = urllib.request.Request(  # noqa: S310 (the stack on 127.0.0.1)
        stack.url + "/api/v1/webview/tokens/",
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Api-Key {key}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        assert response.status == 201
        return json.loads(response.read())


def test_bank_app_webview_buys_and_returns_to_the_app(phone, unique_email):
    j = phone
    page = j.page
    minted = _mint(j.stack, buyer_ref="halyk-customer-1", phone="+77015550101")
    assert minted["url"].startswith(j.stack.url + "/webview/?token=")

    # The app opens the link: no sign-in, straight to the event it asked for.
    j.step("event", page.goto(minted["url"]), heading=DEMO_TITLE)
    assert "token=" not in page.url
    j.go("waiting-room",
         lambda: page.get_by_role("link", name=j.t("Join the waiting room")).click(),
         texts=[j.t("Waiting room")])  # fmt: skip
    j.go("joined", lambda: page.get_by_role("button", name=j.t("Join the queue")).click())
    j.wait_on_queue_page()
    j.go("event-admitted",
         lambda: page.get_by_role("link", name=j.t("Go to the tickets")).click(),
         heading=DEMO_TITLE)  # fmt: skip
    best_available(j, quantity=2)
    contact_details(j, email=unique_email)
    card_form(j)

    # Paying brings the paid order page, which sends the webview to the app.
    with page.expect_request(lambda r: r.url.startswith(APP_LINK), timeout=60_000) as back:
        pay_card(j, CARD_OK, step="paid-at-gateway")
        page.locator("[data-status=paid]").wait_for(timeout=45_000)
        j.step("order-paid", texts=[j.t("Paid")])
        code = page.locator("[data-app-link]").get_attribute("href").removeprefix(APP_LINK)
        assert code and code in page.locator("h1").inner_text(), code
    assert back.value.url == APP_LINK + code
    assert back.value.is_navigation_request()
    j.step("back-to-the-app")
    with psycopg.connect(j.stack.database_url) as conn:
        channel, buyer_key, ref = conn.execute(
            "SELECT channel, buyer_key, buyer_ref FROM orders_order WHERE code = %s", [code]
        ).fetchone()
    # The bank's sale, counted as the phone's buyer (the same as on the site).
    assert channel == "partner:halyk" and buyer_key.startswith("phone:"), (channel, buyer_key)
    assert "5550101" not in buyer_key + ref

    # The link is single-use: opened again (a shared screenshot), it is refused.
    again = page.context.new_page()
    response = again.goto(minted["url"])
    assert response.status == 403, response.status
    again.close()
    j.finish()
