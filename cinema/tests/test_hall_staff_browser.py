"""The new-hall page in real Chromium: staff paste the rows, Preview draws the
hall (screen on top, love seats as sofas) without saving, Save makes it.
Screenshots go to .artifacts/journeys/cinema-hall/."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings

from cinema.factories import cinema_make
from cinema.models import Hall
from events.models import Seat

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path(settings.BASE_DIR) / ".artifacts" / "journeys" / "cinema-hall"
ROWS = "\n".join(
    ["A: WC_SSSSSSSSSS_CW"]
    + [f"{r}: SSSS_SSSSSSSSSS_SSSS" for r in "BCDEFGH"]
    + ["", "J +0.5: VVVV_VVVVVVVVV_VVVV", "K: LL_LL_LLLLLL_LL_LL"]
)


def test_staff_preview_the_hall_then_save_it(browser, live_server, django_user_model):
    cinema = cinema_make()
    django_user_model.objects.create_superuser("boss", "boss@example.com", "s3cret-pass")
    context = browser.new_context(viewport={"width": 1280, "height": 1000}, locale="en-US")
    context.add_cookies([{"name": "django_language", "value": "en", "url": live_server.url}])
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/admin/login/?next=/staff/cinema/halls/new/")
        page.fill("#id_username", "boss")
        page.fill("#id_password", "s3cret-pass")
        page.click("input[type=submit]")
        page.wait_for_url("**/staff/cinema/halls/new/")
        page.select_option("#id_cinema", str(cinema.pk))
        page.fill("#id_code", "4")
        page.fill("#id_name", "Зал 4")
        page.fill("#id_rows", ROWS)
        page.fill("#id_curve", "50")
        page.click("input[name=preview]")
        preview = page.locator("[data-hall-preview]")
        preview.wait_for(state="visible")
        assert page.locator("[data-hall-total]").inner_text() == "171"
        assert preview.locator(".sofa").count() == 7
        screen = preview.locator(".screen").bounding_box()
        seats = preview.locator("[data-seat-kind]")
        assert all(
            screen["y"] + screen["height"] < seats.nth(i).bounding_box()["y"] for i in (0, 85, 170)
        )
        assert not Hall.objects.exists()
        SHOTS.mkdir(parents=True, exist_ok=True)
        preview.scroll_into_view_if_needed()
        page.screenshot(path=str(SHOTS / "10-staff-preview.png"), full_page=True)

        # A mistake is listed by its line, and nothing is saved.
        page.fill("#id_rows", ROWS.replace("K: LL_LL", "K: LL_L_"))
        page.click("input[name=save]")
        errors = page.locator("[data-layout-errors]").inner_text()
        assert "line 11 (row K): a lone love seat" in errors
        assert not Hall.objects.exists()

        page.fill("#id_rows", ROWS)
        page.click("input[name=save]")
        page.wait_for_url("**/admin/events/venue/*/change/")
        hall = Hall.objects.get(cinema=cinema, code="4")
        assert Seat.objects.filter(section__venue=hall.venue).count() == 171
    finally:
        context.close()
