"""A guest on a phone goes to the cinema: from the home page to the city's
schedule, a time tonight, two seats, an adult and a child ticket, the card,
the tickets; and from the home page's film entry to a film's page."""

from __future__ import annotations

import re

import pytest

from journeys.journey import CARD_OK, card_form, contact_details, pay_card, tickets_issued

pytestmark = [pytest.mark.journey, pytest.mark.browser]

MIN_TARGET_PX = 24
# Standard seats in every demo hall: past the wheelchair spaces of row 1 and
# before the VIP and love-seat rows at the back (cinema/demo.py).
STANDARD_ROWS = ("2", "3", "4", "5")
SEATS_IN_VIEW = """(rows) => {
  const frame = (document.querySelector('.seat-map-viewport')
    || document.querySelector('svg.seat-map')).getBoundingClientRect();
  const left = Math.max(frame.left, 0), right = Math.min(frame.right, innerWidth);
  const top = Math.max(frame.top, 0), bottom = Math.min(frame.bottom, innerHeight);
  return [...document.querySelectorAll('[data-seat][aria-checked=false]')].filter(s => {
    const r = s.getBoundingClientRect();
    const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
    return rows.includes(s.dataset.row) && r.left >= left && r.right <= right
      && r.top >= top && r.bottom <= bottom && hit === s;
  }).map(s => s.dataset.seat);
}"""


def _amount(text: str) -> int:
    return int("".join(ch for ch in text if ch.isdigit()) or 0)


def test_guest_buys_an_adult_and_a_child_ticket_for_tonight_on_a_phone(phone, unique_email):
    j = phone
    page = j.page
    j.open_home()
    # The header's Cinema link: the city's schedule (the demo has one city), today.
    header = page.locator("header.site-header")
    j.go(
        "schedule",
        lambda: header.get_by_role("link", name=j.t("Cinema"), exact=True).tap(),
        texts=[j.t("Today"), j.t("The week"), j.t("Film")],
    )
    today = page.locator("nav.cinema-dates a[aria-current=page]")
    assert today.inner_text().strip() == j.t("Today"), "the schedule does not open on today"
    # Tonight's first showing still on sale.
    time_button = page.locator("li.showing:not(.sold-out) a").first
    title = time_button.evaluate(
        "a => a.closest('article').querySelector('h2').firstChild.textContent.trim()"
    )
    hour = time_button.locator("time").inner_text().strip()
    assert re.fullmatch(r"\d\d:\d\d", hour), hour
    j.go("showing", lambda: time_button.tap(), texts=[title, hour])
    panel = page.locator("[data-event-film]")
    assert panel.is_visible(), "the showing's page shows no film panel"
    assert panel.get_by_role("link", name=title).count() == 1, "no link back to the film"

    # A showing's page is its whole hall: the seat map, screen at the top.
    j.step("seats", texts=[j.t("Hold selected seats")])
    assert page.locator("[data-seat]").count() >= 50, "the showing's page shows no hall map"
    zoom_in = page.locator("[data-zoom=in]")
    page.locator(".seat-map-frame, svg.seat-map").first.scroll_into_view_if_needed()

    def seat_size() -> float:
        box = page.locator("[data-seat]").first.bounding_box()
        return min(box["width"], box["height"])

    for _press in range(6):
        if seat_size() >= MIN_TARGET_PX or not zoom_in.is_visible() or not zoom_in.is_enabled():
            break
        zoom_in.tap()
        page.wait_for_timeout(400)
    in_view = page.evaluate(SEATS_IN_VIEW, list(STANDARD_ROWS))
    assert len(in_view) >= 2, f"{len(in_view)} standard seats within reach"
    for seat_id in in_view[:2]:
        box = page.locator(f'[data-seat="{seat_id}"]').bounding_box()
        page.touchscreen.tap(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.locator(f'[data-seat="{seat_id}"][aria-checked="true"]').wait_for(
            state="attached", timeout=3000
        )
    summary = page.locator("[data-selection-summary]")
    summary.scroll_into_view_if_needed()
    j.step("two-seats-chosen")
    j.go(
        "checkout",
        lambda: summary.get_by_role("button", name=j.t("Hold selected seats")).tap(),
        texts=[j.t("Your reservation"), j.t("Who is each ticket for?")],
    )

    selects = page.locator("[data-ticket-types] select")
    assert selects.count() == 2, f"{selects.count()} ticket-type choices for two seats"
    adult_price = _amount(selects.nth(0).locator("option:checked").inner_text())
    selects.nth(1).select_option("child")
    child_label = selects.nth(1).locator("option:checked").inner_text()
    child_price = _amount(child_label.split("—")[-1])
    assert 0 < child_price < adult_price, (adult_price, child_label)
    total = page.locator("[data-total]").inner_text()
    assert _amount(total) == adult_price + child_price, f"total {total!r}"
    j.step("adult-and-child", texts=[total])

    contact_details(j, email=unique_email)
    pay_page = page.inner_text("body")
    assert str(_amount(total)) in re.sub(r"\D", "", pay_page), "the pay page shows another total"
    card_form(j)
    pay_card(j, CARD_OK, step="paid-at-gateway")
    tickets_issued(j, count=2)
    types = page.locator("section.ticket [data-ticket-type]")
    # The demo's type names (data, not msgids): Russian on a Russian page.
    assert sorted(types.all_inner_texts()) == ["Взрослый", "Детский"], types.all_inner_texts()
    j.step("tickets-with-types", texts=["Взрослый", "Детский"])
    j.finish()


def test_a_guest_finds_a_films_showtimes_from_the_home_page(desktop):
    j = desktop
    page = j.page
    j.open_home()
    j.go(
        "films",
        lambda: page.get_by_role("link", name=j.t("Films and showtimes")).click(),
        texts=[j.t("Films now showing")],
    )
    film_card = page.locator("article.film-card").first
    title = film_card.locator("h2").inner_text().strip()
    j.go(
        "film",
        lambda: film_card.get_by_role("link", name=j.t("Showtimes")).click(),
        heading=title,
        texts=[j.t("Showtimes")],
    )
    assert page.locator("img.poster").is_visible(), "the film page shows no poster"
    assert page.evaluate("document.querySelector('img.poster').naturalWidth") > 0
    time_button = page.locator("section.cinema-schedule a[data-showing]").first
    hour = time_button.inner_text().strip()
    j.go("showing", lambda: time_button.click(), texts=[title, hour])
    assert page.locator("[data-event-film]").is_visible(), "the showing shows no film panel"
    j.finish()
