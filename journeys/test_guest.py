"""Guests buy from the home page: best available on a desktop, chosen seats on a
phone, a standing place."""

from __future__ import annotations

import pytest

from journeys.journey import (
    best_available,
    buy_admission,
    pay_and_get_tickets,
    switch_language,
)

pytestmark = [pytest.mark.journey, pytest.mark.browser]


def test_guest_best_available(desktop, unique_email):
    j = desktop
    j.open_home()
    buy_admission(j)
    best_available(j, quantity=2)
    pay_and_get_tickets(j, email=unique_email, count=2)
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
    pay_and_get_tickets(j, email=unique_email, count=3)
    j.finish()


MIN_TARGET_PX = 24  # WCAG 2.2 target size: what a finger must be able to hit
# Available seats wholly inside the map's visible frame and on top: what a finger can reach.
SEATS_IN_VIEW = """() => {
  const frame = (document.querySelector('.seat-map-viewport')
    || document.querySelector('svg.seat-map')).getBoundingClientRect();
  const left = Math.max(frame.left, 0), right = Math.min(frame.right, innerWidth);
  const top = Math.max(frame.top, 0), bottom = Math.min(frame.bottom, innerHeight);
  return [...document.querySelectorAll('[data-seat][aria-checked=false]')].filter(s => {
    const r = s.getBoundingClientRect();
    const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
    return r.left >= left && r.right <= right && r.top >= top && r.bottom <= bottom
      && hit === s;  // not under the summary, a label or the zoom buttons
  }).map(s => s.dataset.seat);
}"""


def _digits(text: str) -> int:
    return int("".join(ch for ch in text if ch.isdigit()) or 0)


def test_guest_chooses_seats_on_the_phone_map_with_zoom(phone, unique_email):
    """On a 390x844 touch phone: the stadium map, a section, zoom in until seats
    are finger-sized, tap two, see them with the total, hold, pay, tickets."""
    j = phone
    page = j.page
    j.open_home()
    buy_admission(j)
    section = page.locator(
        "svg.stadium-map a.map-section", has=page.locator("text", has_text="L06")
    )
    j.go("section", lambda: section.tap(), texts=[j.t("Hold selected seats")])
    legend = page.locator("[data-legend]")
    assert legend.is_visible(), "the section shows no legend of tiers and prices"
    assert "₸" in legend.inner_text(), legend.inner_text()
    assert page.locator("[data-row-label]").count() > 0, "the section shows no row labels"
    assert page.locator("[data-selection-summary]").is_visible()

    zoom_in = page.locator("[data-zoom=in]")
    zoom_in.wait_for(state="visible")
    page.locator(".seat-map-frame, svg.seat-map").first.scroll_into_view_if_needed()

    def seat_size() -> float:
        box = page.locator("[data-seat]").first.bounding_box()
        return min(box["width"], box["height"])

    for _press in range(6):
        if seat_size() >= MIN_TARGET_PX or not zoom_in.is_enabled():
            break
        zoom_in.tap()
        page.wait_for_timeout(400)  # the zoom's animation
    assert seat_size() >= MIN_TARGET_PX, f"seats are {seat_size():.0f} px at the largest zoom"
    assert page.locator("[data-row-label]").first.is_visible()
    j.step("zoomed")

    in_view = page.evaluate(SEATS_IN_VIEW)
    assert len(in_view) >= 2, f"{len(in_view)} available seats within reach after zooming"
    chosen = [in_view[0], in_view[len(in_view) // 2]]
    for seat_id in chosen:
        seat = page.locator(f'[data-seat="{seat_id}"]')
        box = seat.bounding_box()
        assert min(box["width"], box["height"]) >= MIN_TARGET_PX, box
        page.touchscreen.tap(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.locator(f'[data-seat="{seat_id}"][aria-checked="true"]').wait_for(
            state="attached", timeout=3000
        )
    summary = page.locator("[data-selection-summary]")
    summary.scroll_into_view_if_needed()
    total = summary.locator("[data-summary-total]").inner_text()
    j.step("two-seats-chosen", texts=[total])
    assert summary.locator("[data-summary-list] li").count() == 2, summary.inner_text()
    assert _digits(total) > 0, f"summary total {total!r}"

    j.go(
        "checkout",
        lambda: summary.get_by_role("button", name=j.t("Hold selected seats")).tap(),
        texts=[j.t("Your reservation"), total],
    )
    pay_and_get_tickets(j, email=unique_email, count=2)
    j.finish()
