"""The seat map in real headless Chromium, on a phone (390 by 844, touch) and a desktop
(1280 by 900).

On the phone a buyer zooms until seats are big enough to tap (≥ 24 px, WCAG 2.2
target size), sees row labels and the price legend, taps two seats, sees them in
the summary with the total, and holds them. A keyboard user tabs into the map,
moves with the arrow keys and chooses with Space/Enter. Screenshots of each
step go to .artifacts/journeys/seatmap/.
"""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from events.models import Event, EventSeat, PriceTier, SalePhase, Section
from events.services import event_inventory_create, venue_create_from_spec
from ticketing.money import money_format

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path(settings.BASE_DIR) / ".artifacts" / "journeys" / "seatmap"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
MIN_TARGET_PX = 24

# One lower-bowl sector shaped like the demo stadium's (an arc of 12 rows,
# 31 seats in the first, one more in each next row).
SPEC = {
    "venue": {"name": "Arc Hall", "slug": "arc-hall", "city": "Almaty", "time_zone": "Asia/Almaty",
              "map": {"width": 1200, "height": 1060},
              "stage": {"x": 500, "y": 80, "w": 200, "h": 60}},
    "sections": [
        {"code": "L01", "name": "Lower 1", "layout": "arc", "centre": [600, 560],
         "inner_radius": 300, "row_depth": 3.2, "start_angle": -29, "end_angle": -11,
         "rows": 12, "seats_per_row": 31, "seats_per_row_step": 1, "tier": "cat1"},
    ],
}  # fmt: skip


@pytest.fixture
def arc_event(transactional_db) -> Event:
    """On sale on the web now, no waiting room; rows 1 to 3 are VIP, the others Category 1."""
    venue = venue_create_from_spec(spec=SPEC)
    now = timezone.now()
    event = Event.objects.create(
        venue=venue, title="Arc show", slug="arc-show", starts_at=now + timedelta(days=20),
        time_zone="Asia/Almaty", currency="KZT", status=Event.Status.ON_SALE,
    )  # fmt: skip
    vip = PriceTier.objects.create(
        event=event, key="vip", name="VIP", price=Decimal("60000"), colour="#6a0dad", sort_order=0
    )
    PriceTier.objects.create(
        event=event, key="cat1", name="Category 1", price=Decimal("45000"), colour="#f4a261",
        sort_order=1,
    )  # fmt: skip
    SalePhase.objects.create(
        event=event, name="General", starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(days=10), channels=["web"], per_buyer_limit=6,
        requires_waiting_room=False,
    )  # fmt: skip
    event_inventory_create(event=event)
    EventSeat.objects.filter(event=event, seat__row_index__lte=3).update(tier=vip)
    return event


def _section_url(live_server, event: Event) -> str:
    section = Section.objects.get(venue=event.venue, code="L01")
    return f"{live_server.url}/e/{event.slug}/s/{section.pk}/"


def _shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=False)


def _seat_size(page) -> float:
    box = page.locator("[data-seat]").first.bounding_box()
    return min(box["width"], box["height"])


# The ids of seats wholly inside the map's frame and not under anything (the
# ones a finger can reach without scrolling).
SEATS_IN_VIEW = """() => {
  const frame = document.querySelector('.seat-map-viewport').getBoundingClientRect();
  return [...document.querySelectorAll('[data-seat]')].filter(s => {
    const r = s.getBoundingClientRect();
    return r.left >= frame.left && r.right <= frame.right
      && r.top >= frame.top && r.bottom <= frame.bottom && r.bottom <= innerHeight
      && document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2) === s;
  }).map(s => s.dataset.seat);
}"""
SCROLL_TO_MAP = "document.querySelector('.seat-map-tools').scrollIntoView()"


def test_phone_buyer_zooms_taps_two_seats_and_holds_them(browser, live_server, arc_event):
    context = browser.new_context(
        viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True,
        locale="ru-RU", timezone_id="Asia/Almaty",
    )  # fmt: skip
    page = context.new_page()
    try:
        page.goto(_section_url(live_server, arc_event))
        zoom_in = page.locator("[data-zoom=in]")
        zoom_in.wait_for(state="visible")

        # Before zooming the whole sector fits the phone: seats are too small to tap.
        assert _seat_size(page) < MIN_TARGET_PX
        labels = page.locator("[data-row-label]")
        assert labels.count() == 2 * 12  # both ends of every row
        assert labels.first.is_visible() and labels.first.text_content() == "1"
        legend = page.locator("[data-legend]")
        assert legend.is_visible()
        legend_text = legend.inner_text()
        for name, price in (("VIP", 60000), ("Category 1", 45000)):
            assert name in legend_text
            assert money_format(Decimal(price), "KZT", "ru") in legend_text
        summary = page.locator("[data-selection-summary]")
        assert summary.is_visible()
        _shot(page, "01-phone-section")

        # One press of "zoom in" makes seats big enough for a finger.
        zoom_in.tap()
        page.wait_for_function(
            "min => { const r = document.querySelector('[data-seat]').getBoundingClientRect();"
            " return Math.min(r.width, r.height) >= min; }",
            arg=MIN_TARGET_PX,
        )
        page.wait_for_timeout(300)  # the zoom's animation
        assert _seat_size(page) >= MIN_TARGET_PX
        page.evaluate(SCROLL_TO_MAP)
        in_view = page.evaluate(SEATS_IN_VIEW)
        assert len(in_view) >= 10
        for seat_id in in_view:
            box = page.locator(f'[data-seat="{seat_id}"]').bounding_box()
            assert min(box["width"], box["height"]) >= MIN_TARGET_PX
        _shot(page, "02-phone-zoomed")

        # Tap two seats: one VIP, one Category 1 if both are in view.
        first, second = in_view[0], in_view[len(in_view) // 2]
        for seat_id in (first, second):
            page.locator(f'[data-seat="{seat_id}"]').tap()
            expect_checked = page.locator(f'[data-seat="{seat_id}"][aria-checked="true"]')
            expect_checked.wait_for(state="attached", timeout=2000)
        page.evaluate(SCROLL_TO_MAP)
        chosen = EventSeat.objects.filter(pk__in=[first, second]).select_related("tier", "seat")
        total = sum(s.tier.price for s in chosen)
        summary_text = summary.inner_text()
        for s in chosen:
            assert f"Ряд {s.seat.row_label}, место {s.seat.number}" in summary_text
        assert money_format(total, "KZT", "ru") in summary_text
        assert "Выбрано: 2 из 6" in summary_text
        _shot(page, "03-phone-two-seats-chosen")

        # Hold them: the checkout lists both seats.
        summary.locator("button[type=submit]").tap()
        page.wait_for_url(re.compile(r"/checkout/[0-9a-f-]+/$"))
        checkout = page.locator("main").inner_text()
        for s in chosen:
            assert f"ряд {s.seat.row_label}, место {s.seat.number}" in checkout
        assert money_format(total, "KZT", "ru") in checkout
        _shot(page, "04-phone-checkout")
    finally:
        context.close()


def test_phone_pinch_zooms_the_map(browser, live_server, arc_event):
    context = browser.new_context(
        viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True, locale="ru-RU"
    )
    page = context.new_page()
    try:
        page.goto(_section_url(live_server, arc_event))
        page.locator("[data-zoom=in]").wait_for(state="visible")
        before = _seat_size(page)
        # Map at the top of the screen; fingers on its upper part (the bottom
        # of the screen is the summary with the hold button).
        page.evaluate("document.querySelector('.seat-map-frame').scrollIntoView()")
        frame = page.locator(".seat-map-viewport").bounding_box()
        cx, cy = frame["x"] + frame["width"] / 2, frame["y"] + frame["height"] * 0.4
        assert page.evaluate(
            "([x, y]) => !!document.elementFromPoint(x, y).closest('.seat-map-viewport')",
            [cx, cy],
        )
        cdp = context.new_cdp_session(page)

        def touch(kind: str, spread: float) -> None:
            points = [] if kind == "touchEnd" else [
                {"x": cx - spread, "y": cy, "id": 0}, {"x": cx + spread, "y": cy, "id": 1},
            ]  # fmt: skip
            cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": points})

        touch("touchStart", 20)
        for spread in range(30, 161, 10):
            touch("touchMove", spread)
        touch("touchEnd", 0)
        page.wait_for_timeout(200)
        assert _seat_size(page) > 2 * before
        assert page.locator("[data-zoom=out]").is_enabled()
        _shot(page, "05-phone-pinched")
    finally:
        context.close()


def test_keyboard_user_picks_seats_with_arrows_and_space(browser, live_server, arc_event):
    context = browser.new_context(viewport=DESKTOP, locale="ru-RU", timezone_id="Asia/Almaty")
    page = context.new_page()
    try:
        page.goto(_section_url(live_server, arc_event))
        page.locator("[data-zoom=in]").wait_for(state="visible")
        _shot(page, "06-desktop-section")
        # Tab into the map: exactly one seat is in the tab order.
        assert page.locator('[data-seat][tabindex="0"]').count() == 1
        for _ in range(40):
            page.keyboard.press("Tab")
            if page.evaluate("() => document.activeElement.hasAttribute('data-seat')"):
                break
        else:
            pytest.fail("Tab never reached a seat")
        active = "() => { const a = document.activeElement;"
        active += " return [a.dataset.seat, a.dataset.row, a.getAttribute('aria-checked'),"
        active += " a.getAttribute('role'), a.getAttribute('aria-label')]; }"
        seat, row, checked, role, label = page.evaluate(active)
        assert role == "checkbox" and checked == "false"
        assert re.fullmatch(r"Ряд 1, место 1 — VIP, 60\s000\s₸", label)

        # The sector is drawn with its rows across the screen, row 1 on top
        # (06-desktop-section.png): Left/Right go along the row (here seat 1
        # is at the right end, as a spectator facing the field sees it), Down
        # to the next row.
        seat_x = "id => document.querySelector(`[data-seat='${id}']`).getBoundingClientRect().x"
        in_row = "row => [...document.querySelectorAll(`[data-seat][data-row='${row}']`)]"
        neighbour = page.evaluate(f"{in_row}[1].dataset.seat", row)
        towards = page.evaluate(seat_x, neighbour) > page.evaluate(seat_x, seat)
        page.keyboard.press("ArrowRight" if towards else "ArrowLeft")
        seat2, row2, *_ = page.evaluate(active)
        assert seat2 == neighbour and row2 == row
        assert page.evaluate("() => document.activeElement.getAttribute('aria-label')").startswith(
            "Ряд 1, место 2 "
        )
        page.keyboard.press("Space")
        assert page.evaluate(active)[2] == "true"
        status = page.locator("[data-seat-status]")
        page.wait_for_function(
            "() => document.querySelector('[data-seat-status]').textContent.includes('выбрано')"
        )
        assert "Ряд 1, место 2 " in status.text_content()

        page.keyboard.press("ArrowDown")
        seat3, row3, checked3, *_ = page.evaluate(active)
        assert row3 == "2" and checked3 == "false"
        page.keyboard.press("Enter")
        assert page.evaluate(active)[2] == "true"
        summary = page.locator("[data-selection-summary]").inner_text()
        assert "Ряд 1, место 2" in summary and "Ряд 2, место" in summary
        assert money_format(Decimal(120000), "KZT", "ru") in summary
        # The roving tab stop followed the focus.
        assert page.locator('[data-seat][tabindex="0"]').count() == 1
        assert page.get_attribute(f'[data-seat="{seat3}"]', "tabindex") == "0"
        _shot(page, "07-desktop-keyboard-two-chosen")

        page.keyboard.press("Space")
        assert page.evaluate(active)[2] == "false"
        page.wait_for_function(
            "() => document.querySelector('[data-seat-status]').textContent.includes('снят')"
        )
        # The real form field follows the map.
        assert page.is_checked(f"#seat-{seat2}") and not page.is_checked(f"#seat-{seat3}")
    finally:
        context.close()
