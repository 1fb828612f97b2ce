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
from itertools import pairwise
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

# Row badges at the frame's edge over seats: the part of each seat the frame
# shows (a seat's box runs on past the frame's clipping edge) against each badge.
EDGE_LABELS_OVER_SEATS = """() => {
  const v = document.querySelector('.seat-map-viewport').getBoundingClientRect();
  const tags = [...document.querySelectorAll('.row-edge-labels span')];
  const hits = [];
  for (const seat of document.querySelectorAll('.seat-map .seat')) {
    const r = seat.getBoundingClientRect();
    const left = Math.max(r.left, v.left), right = Math.min(r.right, v.right);
    const top = Math.max(r.top, v.top), bottom = Math.min(r.bottom, v.bottom);
    if (right - left < 0.5 || bottom - top < 0.5) continue;
    for (const tag of tags) {
      const t = tag.getBoundingClientRect();
      if (Math.min(right, t.right) - Math.max(left, t.left) > 0.5
          && Math.min(bottom, t.bottom) - Math.max(top, t.top) > 0.5) {
        hits.push(`row badge ${tag.textContent} over seat ${seat.getAttribute('aria-label')}`);
      }
    }
  }
  return {count: tags.length, hits};
}"""

# The part of the summary that stays on screen (sticky or fixed), and what it
# may cover: the map's frame as far as it is on screen, the chosen seats.
SUMMARY_BAR = """() => {
  const summary = document.querySelector('[data-selection-summary]');
  const bar = [summary, ...summary.querySelectorAll('*')].find(
    e => ['sticky', 'fixed'].includes(getComputedStyle(e).position));
  const box = e => { const r = e.getBoundingClientRect();
    return {left: r.left, right: r.right, top: r.top, bottom: r.bottom, height: r.height}; };
  const frame = box(document.querySelector('.seat-map-viewport'));
  frame.top = Math.max(frame.top, 0);
  frame.bottom = Math.min(frame.bottom, innerHeight);
  return {
    bar: bar && box(bar), frame, innerHeight,
    total: box(summary.querySelector('[data-summary-total]')),
    button: box(summary.querySelector('button[type=submit]')),
    seats: [...document.querySelectorAll('[data-seat][aria-checked=true]')].map(
      s => [s.getAttribute('aria-label'), box(s)]),
  };
}"""


def _overlap(a: dict, b: dict) -> bool:
    return (
        min(a["right"], b["right"]) - max(a["left"], b["left"]) > 0.5
        and min(a["bottom"], b["bottom"]) - max(a["top"], b["top"]) > 0.5
    )


def _assert_bar_compact_and_clear(page, where: str, *, compact: bool = True) -> None:
    """The summary's sticky bar covers neither the map nor a chosen seat; on a
    phone (`compact`) it is one short line."""
    m = page.evaluate(SUMMARY_BAR)
    bar = m["bar"]
    assert bar, "with seats chosen, the hold button does not stay in sight"
    if compact:
        assert bar["height"] <= 0.2 * m["innerHeight"], f"{where}: bar {bar['height']:.0f} px"
        # One line: the total beside the hold button, not above it.
        total, button = m["total"], m["button"]
        assert total["top"] < button["bottom"] and button["top"] < total["bottom"], where
    if m["frame"]["bottom"] > m["frame"]["top"]:  # the map is on screen
        assert not _overlap(bar, m["frame"]), f"{where}: the bar covers the map {m}"
    for label, seat in m["seats"]:
        assert not _overlap(bar, seat), f"{where}: the bar covers the chosen {label}"


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
        # Rows whose own labels are out of view get a badge at the frame's
        # edge, never on top of a seat (they hid the last seat of each row).
        page.wait_for_function("() => document.querySelectorAll('.row-edge-labels span').length")
        badges = page.evaluate(EDGE_LABELS_OVER_SEATS)
        assert badges["count"] >= 3 and not badges["hits"], badges
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
        _assert_bar_compact_and_clear(page, "map at the top of the screen")
        _shot(page, "03-phone-two-seats-chosen")
        # Scrolled back up to the map's lower edge, and to the summary (as the
        # journey does): the bar sat over the map's last rows and the seats chosen.
        page.evaluate("document.querySelector('.seat-map-frame').scrollIntoView({block: 'end'})")
        _assert_bar_compact_and_clear(page, "map's lower edge in view")
        _shot(page, "03b-phone-map-bottom-with-bar")
        summary.scroll_into_view_if_needed()
        _assert_bar_compact_and_clear(page, "summary in view")
        _shot(page, "03c-phone-summary")
        # Zoomed further and moved, the badges still keep off the seats.
        zoom_in.tap()
        page.wait_for_timeout(400)
        page.evaluate(SCROLL_TO_MAP)
        page.wait_for_function("() => document.querySelectorAll('.row-edge-labels span').length")
        badges = page.evaluate(EDGE_LABELS_OVER_SEATS)
        assert badges["count"] >= 3 and not badges["hits"], badges

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
        _assert_bar_compact_and_clear(page, "desktop", compact=False)
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


@pytest.mark.parametrize("language", ["ru", "kk", "en"])
@pytest.mark.parametrize("signed_in", [False, True], ids=["guest", "signed-in"])
def test_phone_header_is_one_row(browser, live_server, arc_event, django_user_model, language,
                                 signed_in):  # fmt: skip
    """On 390 px the header is brand, the links (events, cinema, sign-in or my
    tickets) and the language select in one row (the select wrapped onto a row
    of its own, the sign-in link must stay)."""
    from django.test import Client

    context = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True,
                                  has_touch=True)  # fmt: skip
    host = live_server.url.split("//", 1)[1].split(":")[0]
    cookies = [{"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "domain": host,
                "path": "/"}]  # fmt: skip
    if signed_in:
        client = Client()
        client.force_login(django_user_model.objects.create_user("aigerim", password="x"))
        session = client.cookies[settings.SESSION_COOKIE_NAME].value
        cookies.append({"name": settings.SESSION_COOKIE_NAME, "value": session, "domain": host,
                        "path": "/"})  # fmt: skip
    context.add_cookies(cookies)
    page = context.new_page()
    try:
        page.goto(_section_url(live_server, arc_event))
        assert page.evaluate("document.documentElement.lang") == language
        header = page.locator(".site-header")
        link = header.locator("nav a").last
        assert link.is_visible()
        assert ("/account/tickets/" in link.get_attribute("href")) == signed_in
        rows = page.evaluate(
            """() => [...document.querySelectorAll(
                   '.site-header .brand, .site-header nav a, .site-header .lang select')]
                 .filter(e => e.getClientRects().length).map(e => {
                 const r = e.getBoundingClientRect();
                 return [e.textContent.trim().slice(0, 20), r.top, r.bottom, r.left, r.right];
               })"""
        )
        middles = [(top + bottom) / 2 for _, top, bottom, _, _ in rows]
        assert max(middles) - min(middles) < 8, rows  # one row
        for (_, _, _, _, right), (_, _, _, left, _) in pairwise(rows):
            assert right <= left, rows  # side by side, nothing overlaps
        assert rows[-1][4] <= PHONE["width"], rows
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        who = "in" if signed_in else "guest"
        page.screenshot(path=str(SHOTS / f"08-phone-header-{language}-{who}.png"),
                        clip={"x": 0, "y": 0, "width": PHONE["width"], "height": 120})  # fmt: skip
    finally:
        context.close()


@pytest.mark.parametrize("language", ["kk", "en"])
def test_the_map_total_reads_like_the_servers_prices(browser, live_server, arc_event, language):
    """The running total uses the server's money pattern: in Kazakh this Chromium's
    Intl alone wrote "KZT 165,000" beside a legend of "45 000 ₸"."""
    context = browser.new_context(viewport=DESKTOP, locale=f"{language}-KZ")
    page = context.new_page()
    try:
        page.goto(_section_url(live_server, arc_event) + f"?lang={language}")
        page.select_option("header form.lang select", language)
        page.wait_for_load_state()
        page.locator("[data-zoom=in]").wait_for(state="visible")
        vip = page.locator("[data-seat][data-row='1']")
        vip.nth(0).dispatch_event("click")
        vip.nth(1).dispatch_event("click")
        page.locator("[data-summary-total]").wait_for(state="visible")
        total = page.locator("[data-summary-total]").inner_text()
        assert total.strip() == money_format(Decimal(120000), "KZT", language)
    finally:
        context.close()
