"""A showing's seat map in real headless Chromium, on a phone (390 by 844,
touch) and a desktop (1280 by 900): the whole hall with the screen on top;
one tap on a love seat takes the sofa, one on a wheelchair space takes its
companion seat too; the summary's total is theirs, and the hold has all four.
Screenshots go to .artifacts/journeys/cinema-hall/.
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings

from cinema.factories import DEFAULT_PRICES, cinema_make, showing_make
from cinema.services import hall_create, hall_layout_spec
from events.models import EventSeat
from orders.models import Hold
from ticketing.money import money_format

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path(settings.BASE_DIR) / ".artifacts" / "journeys" / "cinema-hall"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
MIN_TARGET_PX = 24
ROWS = [
    "A: WC_SSSSSSSSSS_CW",
    *[f"{r}: SSSS_SSSSSSSS_SSSS" for r in "BCDEFG"],
    "",
    "H +0.5: VVVV_VVVVVVVV_VVV",
    "J: LL_LL_LLLLLL_LL_LL",
]


@pytest.fixture
def showing(transactional_db):
    cinema = cinema_make()
    spec = hall_layout_spec(cinema=cinema, code="5", name="Зал 5", rows=ROWS, curve=40)
    hall = hall_create(cinema=cinema, code="5", name="Зал 5", spec=spec)
    event = showing_make(hall=hall).event
    # Two seats already sold: drawn taken, not choosable.
    EventSeat.objects.filter(event=event, seat__row_label="D", seat__number__in=(7, 8)).update(
        status="sold"
    )
    return event


def _seat(event, row: str, number: int) -> int:
    return EventSeat.objects.get(event=event, seat__row_label=row, seat__number=number).pk


def _shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=False)


def _check_hall(page, event) -> None:
    """The whole hall is one map, the screen above every seat, kinds in the legend."""
    screen = page.locator("[data-screen] rect").bounding_box()
    tops = page.evaluate(
        "() => [...document.querySelectorAll('.seat-map .seat')].map("
        "s => s.getBoundingClientRect().top)"
    )
    assert len(tops) == EventSeat.objects.filter(event=event).count()
    assert screen["y"] + screen["height"] <= min(tops)
    legend = page.locator("[data-legend]").inner_text()
    for kind in ("love", "wheelchair", "companion"):
        assert page.locator(f'[data-kind-legend="{kind}"]').is_visible()
    assert money_format(DEFAULT_PRICES["love"], "KZT", "ru") in legend
    sold = _seat(event, "D", 7)
    assert page.locator(f'[data-seat="{sold}"]').count() == 0  # greyed, not a checkbox
    assert page.locator(".seat-map .seat.sold").count() == 2


def _choose(page, event, *, tap: bool) -> list[int]:
    """One touch on a love seat half, one on a wheelchair space; four seats chosen."""
    love_left, love_right = _seat(event, "J", 7), _seat(event, "J", 8)
    space, companion = _seat(event, "A", 1), _seat(event, "A", 2)
    for seat_id in (love_right, space):
        seat = page.locator(f'[data-seat="{seat_id}"]')
        if tap:
            # Bring it into the zoomed frame as the keyboard does (focus pans), then tap.
            seat.evaluate("s => s.focus()")
            page.wait_for_timeout(450)
            box = seat.bounding_box()
            assert min(box["width"], box["height"]) >= MIN_TARGET_PX
            seat.tap()
        else:
            seat.click()
    chosen = [love_left, love_right, space, companion]
    for seat_id in chosen:
        page.locator(f'[data-seat="{seat_id}"][aria-checked="true"]').wait_for(
            state="attached", timeout=2000
        )
    return chosen


def _summary_says(page, total: Decimal) -> None:
    text = page.locator("[data-selection-summary]").inner_text()
    assert "Выбрано: 4 из 10" in text
    for row, number in (("J", 7), ("J", 8), ("A", 1), ("A", 2)):
        assert f"Ряд {row}, место {number}" in text
    assert money_format(total, "KZT", "ru") in text


def _hold_and_check(page, event, chosen: list[int], total: Decimal, tap: bool) -> None:
    button = page.locator("[data-selection-summary] button[type=submit]")
    button.tap() if tap else button.click()
    page.wait_for_url(re.compile(r"/checkout/[0-9a-f-]+/$"))
    hold = Hold.objects.get(event=event)
    assert sorted(hold.seat_ids) == sorted(chosen)
    assert money_format(total, "KZT", "ru") in page.locator("main").inner_text()


TOTAL = 2 * DEFAULT_PRICES["love"] + DEFAULT_PRICES["wheelchair"] + DEFAULT_PRICES["companion"]


def test_desktop_buyer_takes_a_sofa_and_a_wheelchair_space_with_its_companion(
    browser, live_server, showing
):
    context = browser.new_context(viewport=DESKTOP, locale="ru-RU", timezone_id="Asia/Almaty")
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/e/{showing.slug}/")
        page.locator("[data-screen]").wait_for(state="attached")
        _check_hall(page, showing)
        _shot(page, "01-desktop-hall")
        chosen = _choose(page, showing, tap=False)
        _summary_says(page, TOTAL)
        _shot(page, "02-desktop-sofa-and-wheelchair")
        # One more click on the other half takes the whole sofa back off.
        page.locator(f'[data-seat="{chosen[0]}"]').click()
        for seat_id in chosen[:2]:
            assert page.locator(f'[data-seat="{seat_id}"]').get_attribute("aria-checked") == "false"
        assert "Выбрано: 2 из 10" in page.locator("[data-selection-summary]").inner_text()
        page.locator(f'[data-seat="{chosen[1]}"]').click()
        _summary_says(page, TOTAL)
        _hold_and_check(page, showing, chosen, TOTAL, tap=False)
        _shot(page, "03-desktop-checkout")
    finally:
        context.close()


def test_phone_buyer_zooms_and_taps_a_sofa_and_a_wheelchair_space(browser, live_server, showing):
    context = browser.new_context(
        viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True,
        locale="ru-RU", timezone_id="Asia/Almaty",
    )  # fmt: skip
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/e/{showing.slug}/")
        zoom_in = page.locator("[data-zoom=in]")
        zoom_in.wait_for(state="visible")
        _check_hall(page, showing)
        _shot(page, "04-phone-hall")
        zoom_in.tap()
        page.wait_for_timeout(400)
        chosen = _choose(page, showing, tap=True)
        page.evaluate("document.querySelector('.seat-map-tools').scrollIntoView()")
        _summary_says(page, TOTAL)
        _shot(page, "05-phone-chosen")
        _hold_and_check(page, showing, chosen, TOTAL, tap=True)
        _shot(page, "06-phone-checkout")
    finally:
        context.close()
