"""Signed-in journeys: signing in once admitted, and buying again up to the limit."""

from __future__ import annotations

import pytest

from journeys.journey import (
    DEMO_TITLE,
    best_available,
    buy_admission,
    header_link,
    open_event,
    pay_and_get_tickets,
    refused_on_event_page,
    rejoin,
)

pytestmark = [pytest.mark.journey, pytest.mark.browser]
LIMIT = 6  # the demo general sale's per-buyer limit


def test_sign_in_after_admission(desktop, unique_email):
    """Admitted as a visitor, the person signs in (code from the e-mail the
    console backend prints) and still buys with the place they had."""
    j = desktop
    page = j.page
    j.open_home()
    buy_admission(j)
    header_link(j, "Sign in", "sign-in", texts=[j.t("Sign in")])
    page.locator("#id_identity").fill(unique_email)
    j.go("code-sent", lambda: page.get_by_role("button", name=j.t("Send code")).click(),
         texts=[unique_email])  # fmt: skip
    page.locator("#id_code").fill(j.stack.latest_signin_code(unique_email))
    # Signed in, the person is back on the event page they signed in from.
    j.go("signed-in", lambda: page.get_by_role("button", name=j.t("Sign in")).click(),
         texts=[j.t("My tickets")], heading=DEMO_TITLE)  # fmt: skip
    assert not page.locator("ul.messages li.error").count()
    best_available(j, quantity=2)
    pay_and_get_tickets(j, email=unique_email, count=2)
    order = page.locator("h1").first.inner_text().split()[-1]
    header_link(j, "My tickets", "my-tickets", texts=[order])
    j.finish()


def test_second_purchase_up_to_the_limit(desktop, unique_email):
    """Buy 4, come back and buy the 2 the limit still allows (re-joining the
    waiting room as the pages say), then be refused a 7th with the reason."""
    j = desktop
    page = j.page
    j.open_home()
    buy_admission(j)
    best_available(j, quantity=4)
    pay_and_get_tickets(j, email=unique_email, count=4)

    header_link(j, "Events", "events")
    open_event(j, step="event-again")
    # The pass of the first purchase is spent: the page says to queue again,
    # and the waiting room lets the person do it.
    # (Whatever its words, the message must match what the waiting room then offers.)
    refused_on_event_page(j, quantity=2, step="hold-without-pass")
    rejoin(j)
    best_available(j, quantity=LIMIT - 4)
    pay_and_get_tickets(j, email=unique_email, count=LIMIT - 4, step="paid-again")

    header_link(j, "Events", "events-third-time")
    open_event(j, step="event-third-time")
    limit = j.t("That would exceed the ticket limit per buyer for this sale.")
    said = refused_on_event_page(j, quantity=1, step="hold-past-limit")
    if limit not in said:
        # Refused for the spent pass first: after re-joining, the limit must be the reason.
        j.go(
            "waiting-room-third-time",
            lambda: page.get_by_role("link", name=j.t("Join the waiting room")).click(),
        )
        join = page.get_by_role("button", name=j.t("Join the queue"))
        if join.count():
            j.go("joined-third-time", lambda: join.click())
            j.wait_on_queue_page()
            go = page.get_by_role("link", name=j.t("Go to the tickets"))
            j.go("admitted-third-time", lambda: go.click())
            said = refused_on_event_page(j, quantity=1, step="hold-past-limit-again")
        else:
            # The waiting room itself says the limit is reached, and offers no re-join.
            limit = j.tn(
                "You have bought tickets, and one buyer may buy at most %(limit)s ticket "
                "in this sale: you have reached the limit.",
                "You have bought tickets, and one buyer may buy at most %(limit)s tickets "
                "in this sale: you have reached the limit.",
                LIMIT, limit=LIMIT,
            )  # fmt: skip
            said = page.inner_text("#queue")
    assert limit in said, f"past the limit the person is told: {said!r}"
    j.finish()
