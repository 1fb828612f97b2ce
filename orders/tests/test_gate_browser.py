"""The gate page in real headless Chromium with a fake camera showing a ticket's
QR code: rotating codes (the current step admits, an old screenshot does not);
and typed codes refused with their reason."""

from __future__ import annotations

import io
import zoneinfo
from datetime import timedelta

import pytest
import zxingcpp
from django.contrib.auth.models import Permission
from django.utils import timezone
from PIL import Image
from playwright.sync_api import expect

from events.models import Event
from journeys.camera import camera_browser, image_y4m, qr_y4m
from orders.models import Order, Ticket
from orders.tests.factories import event_make, order_make
from orders.tickets import ticket_qr_content, tickets_issue

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _gate(browser, live_server, video, event):
    """A staff phone at gate North of `event`, its camera showing `video`."""
    camera = camera_browser(browser, video)
    context = camera.new_context(locale="en-US", timezone_id="Asia/Almaty")
    context.grant_permissions(["camera"], origin=live_server.url)
    page = context.new_page()
    page.goto(f"{live_server.url}/gate/")
    page.fill("#id_username", "door")
    page.fill("#id_password", "pw")
    page.click("input[type=submit]")
    page.select_option("#id_event", event.slug)
    page.fill("#id_gate", "North")
    page.click("button[type=submit]")
    return camera, page


def test_the_camera_admits_a_rotating_qr_and_refuses_an_old_screenshot(
    browser, page, live_server, settings, tmp_path, django_user_model
):
    """The camera sees the QR exactly as the buyer's order page shows it now
    (a screenshot of that page's image); a screenshot taken 90 s ago is refused."""
    settings.TICKET_ROTATING_QR = True
    event = event_make(seats=2)
    order = order_make(event=event, seat_count=2)
    fresh, stale = tickets_issue(order=order, hold=order.hold)
    Order.objects.filter(pk=order.pk).update(status=Order.Status.PAID)
    door = django_user_model.objects.create_user("door", password="pw", is_staff=True)
    door.user_permissions.add(Permission.objects.get(codename="scan_ticket"))

    page.goto(f"{live_server.url}{order.get_absolute_url()}")
    qr = page.locator("section.ticket", has_text=fresh.code).locator("img.qr")
    qr.scroll_into_view_if_needed()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=qr.element_handle())
    shown = qr.screenshot()
    [read] = zxingcpp.read_barcodes(Image.open(io.BytesIO(shown)))
    assert read.text.startswith(fresh.code + ".")  # the code and its current step
    camera, gate = _gate(browser, live_server, image_y4m(shown, tmp_path / "a.y4m"), event)
    try:
        expect(gate.locator("#gate-answer")).to_have_attribute("data-state", "ok", timeout=20_000)
        expect(gate.locator("#gate-verdict")).to_have_text("Admitted")
    finally:
        camera.close()
    fresh.refresh_from_db()
    assert fresh.status == Ticket.Status.USED and fresh.used_gate == "North"

    old = ticket_qr_content(stale, timezone.now() - timedelta(seconds=90))
    camera, gate = _gate(browser, live_server, qr_y4m(old, tmp_path / "b.y4m"), event)
    try:
        answer = gate.locator("#gate-answer")
        expect(answer).to_have_attribute("data-state", "refused", timeout=20_000)
        expect(gate.locator("#gate-reason")).to_have_text(
            "Unknown ticket, or an old screenshot of a rotating code."
        )
    finally:
        camera.close()
    stale.refresh_from_db()
    assert stale.status == Ticket.Status.VALID


def test_typed_codes_of_another_day_and_void_tickets_are_refused_with_the_reason(
    browser, live_server, django_user_model
):
    """No camera in this browser: the page says so and the typed code is checked."""
    here = event_make(seats=1)
    other = event_make(seats=2)
    Event.objects.filter(pk=other.pk).update(starts_at=here.starts_at + timedelta(days=1))
    order = order_make(event=other, seat_count=2)
    next_day, void = tickets_issue(order=order, hold=order.hold)
    Ticket.objects.filter(pk=void.pk).update(status=Ticket.Status.VOID)
    door = django_user_model.objects.create_user("door", password="pw", is_staff=True)
    door.user_permissions.add(Permission.objects.get(codename="scan_ticket"))
    context = browser.new_context(locale="en-US", timezone_id="Asia/Almaty")
    try:
        page = context.new_page()
        page.goto(f"{live_server.url}/gate/")
        page.fill("#id_username", "door")
        page.fill("#id_password", "pw")
        page.click("input[type=submit]")
        page.select_option("#id_event", here.slug)
        page.fill("#id_gate", "West")
        page.click("button[type=submit]")
        expect(page.locator(".gate.no-camera")).to_be_visible()
        expect(page.locator("#gate-reason")).to_have_text(
            "The camera is not available here; type the code below."
        )
        answer, reason = page.locator("#gate-answer"), page.locator("#gate-reason")
        page.fill("#gate-code", next_day.code)
        page.click("#gate-manual button")
        expect(answer).to_have_attribute("data-state", "refused")
        expect(reason).to_contain_text(f"Wrong day: this ticket is for {next_day_text(other)}")
        expect(reason).to_contain_text(other.title)
        expect(page.locator("#gate-override")).to_be_hidden()  # not a supervisor
        page.fill("#gate-code", void.code)
        page.click("#gate-manual button")
        expect(reason).to_have_text("This ticket is void (cancelled or refunded).")
        # The server does not answer: amber "not checked", never a green or red verdict.
        page.route("**/api/v1/checkin/", lambda route: route.abort())
        page.fill("#gate-code", next_day.code)
        page.click("#gate-manual button")
        expect(answer).to_have_attribute("data-state", "error")
        expect(page.locator("#gate-verdict")).to_have_text("Not checked")
        expect(reason).to_have_text(
            "No answer from the server: the ticket was not checked. Try again."
        )
    finally:
        context.close()
    next_day.refresh_from_db()
    assert next_day.status == Ticket.Status.VALID


def next_day_text(event) -> str:
    """The event's date as the page writes it in English (Intl): "January 2"."""
    event.refresh_from_db()
    local = event.starts_at.astimezone(zoneinfo.ZoneInfo(event.time_zone))
    return f"{local:%B} {local.day}"
