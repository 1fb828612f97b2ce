# ruff: noqa: RUF001 - Russian text uses Cyrillic letters that look like Latin ones
"""Staff turn on-account payment on for a partner and download its settlement
CSV, in real headless Chromium, in Russian (the admin's default language),
on a desktop and a phone; screenshots per step under .artifacts/journeys/on_account/."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone
from playwright.sync_api import expect

from api.models import Partner
from ticketing.models import AuditEntry

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path(settings.BASE_DIR) / ".artifacts" / "journeys" / "on_account"
SIZES = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_staff_enable_on_account_and_download_a_days_settlement(
    browser, live_server, django_user_model, size
):
    SHOTS.mkdir(parents=True, exist_ok=True)
    partner = Partner.objects.create(slug="halyk", name="Halyk Bank")
    django_user_model.objects.create_superuser("boss", "b@x.kz", "pw")
    context = browser.new_context(viewport=SIZES[size], locale="ru-RU", accept_downloads=True)
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/admin/login/?next=/admin/api/partner/")
        page.fill("#id_username", "boss")
        page.fill("#id_password", "pw")
        page.click("input[type=submit]")
        expect(page.locator("#result_list")).to_contain_text("halyk")
        page.screenshot(path=str(SHOTS / f"01-partners-{size}.png"))

        page.check(f"input[name=_selected_action][value='{partner.pk}']")
        page.select_option("select[name=action]", "enable_on_account")
        page.click("button[name=index]")
        expect(page.locator("#content-main")).to_contain_text("показывается только один раз")
        page.screenshot(path=str(SHOTS / f"02-secret-shown-once-{size}.png"))
        partner.refresh_from_db()
        expect(page.locator("#on-account-secret")).to_have_text(partner.on_account_secret)
        assert AuditEntry.objects.filter(action="partner.on_account_enabled").count() == 1

        page.goto(f"{live_server.url}/admin/api/partner/{partner.pk}/settlement/")
        expect(page.locator("#content")).to_contain_text("Отчёт о взаиморасчётах")
        expect(page.locator("label[for=id_date]")).to_have_text("День:")
        page.screenshot(path=str(SHOTS / f"03-settlement-form-{size}.png"))
        day = timezone.localdate().isoformat()
        page.fill("#id_date", day)
        with page.expect_download() as download_info:
            page.click("input[type=submit]")
        download = download_info.value
        assert download.suggested_filename == f"settlement-halyk-{day}.csv"
        rows = list(csv.reader(io.StringIO(Path(download.path()).read_text())))
        assert rows == [
            ["line", "id", "order", "at", "tickets", "amount", "currency", "reference", "status"]
        ]  # no orders that day: the header only
    finally:
        context.close()
