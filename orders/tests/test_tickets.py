from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest

from orders.models import Order, Ticket
from orders.services.orders import order_cancel
from orders.tests.conftest_payments import *  # noqa: F403
from orders.tests.factories import pay_with_card, post_callback
from orders.tickets import (
    qr_svg,
    ticket_checkin,
    ticket_code_new,
    ticket_qr_content,
    totp_accepts,
    totp_at,
)
from payments.services import order_refund, payment_start

pytestmark = pytest.mark.django_db


@pytest.fixture
def paid_order(client, order, gateway_outbox, django_capture_on_commit_callbacks):
    payment, _url = payment_start(order=order)
    with django_capture_on_commit_callbacks(execute=True):
        pay_with_card(client, payment, "4400 4300 0000 0001")
    with django_capture_on_commit_callbacks(execute=True):
        post_callback(client, gateway_outbox.bodies()[0])
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    gateway_outbox.clear()
    return order


def test_ticket_codes_carry_128_random_bits_and_do_not_repeat():
    codes = {ticket_code_new() for _ in range(20_000)}
    assert len(codes) == 20_000
    for code in list(codes)[:100]:
        assert len(code) == 22
        assert len(base64.urlsafe_b64decode(code + "==")) == 16


def test_totp_matches_the_rfc_6238_vector():
    secret = base64.b32encode(b"12345678901234567890").decode()
    assert totp_at(secret, datetime.fromtimestamp(59, tz=UTC)) == "287082"
    assert totp_at(secret, datetime.fromtimestamp(1111111109, tz=UTC)) == "081804"


def test_totp_accepts_current_and_previous_step_only():
    secret = base64.b32encode(b"k" * 20).decode()
    now = datetime(2026, 6, 1, 12, 0, 15, tzinfo=UTC)
    assert totp_accepts(secret, totp_at(secret, now), now)
    assert totp_accepts(secret, totp_at(secret, now - timedelta(seconds=30)), now)
    assert not totp_accepts(secret, totp_at(secret, now - timedelta(seconds=60)), now)
    assert not totp_accepts(secret, totp_at(secret, now + timedelta(seconds=30)), now)
    assert not totp_accepts(secret, "", now)


def test_rotating_qr_checkin(
    settings, client, event, gateway_outbox, django_capture_on_commit_callbacks
):
    settings.TICKET_ROTATING_QR = True
    from orders.tests.factories import order_make

    order = order_make(event=event, seat_count=2)
    payment, _url = payment_start(order=order)
    with django_capture_on_commit_callbacks(execute=True):
        pay_with_card(client, payment, "4400 4300 0000 0001")
    with django_capture_on_commit_callbacks(execute=True):
        post_callback(client, gateway_outbox.bodies()[0])
    first, second = order.tickets.all()
    assert first.totp_secret and first.totp_secret != second.totp_secret
    now = datetime.now(tz=UTC)
    assert ticket_checkin(scanned=first.code)[0] == "unknown"  # bare code: a stale screenshot
    stale = f"{first.code}.{totp_at(first.totp_secret, now - timedelta(seconds=90))}"
    assert ticket_checkin(scanned=stale, at=now)[0] == "unknown"
    previous = f"{first.code}.{totp_at(first.totp_secret, now - timedelta(seconds=30))}"
    assert ticket_checkin(scanned=previous, at=now)[0] == "ok"
    assert ticket_qr_content(second, now).startswith(second.code + ".")
    assert ticket_checkin(scanned=ticket_qr_content(second, now), at=now)[0] == "ok"


def test_qr_is_svg():
    svg = qr_svg("abc")
    assert svg.lstrip().startswith("<svg") and "</svg>" in svg


def test_order_page_shows_tickets_with_qr(client, paid_order):
    event, venue = paid_order.event, paid_order.event.venue
    event.starts_at = datetime(2027, 7, 10, 14, 30, tzinfo=UTC)  # 19:30 in Almaty
    event.save()
    venue.address, venue.city = "Satpaev St 29/3", "Almaty"
    venue.save()
    response = client.get(paid_order.get_absolute_url(), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    body = response.content.decode()
    # When and where, in the event's time zone: the page is what the buyer shows at the gate.
    assert "10 July 2027, 19:30 (Almaty time)" in body
    assert f"{venue.name}, Satpaev St 29/3, Almaty" in body
    for ticket in paid_order.tickets.all():
        assert ticket.code in body
        svg_url = f"/orders/{paid_order.code}/tickets/{ticket.code}.svg"
        qr = client.get(svg_url, {"t": paid_order.access_token})
        assert qr.status_code == 200 and qr["Content-Type"] == "image/svg+xml"
        assert "max-age" in qr["Cache-Control"]
    assert client.get(f"/orders/{paid_order.code}/?t=wrong").status_code == 404
    assert client.get(f"/orders/{paid_order.code}/").status_code == 404


def test_return_page_waits_then_goes_to_the_order(
    client, order, gateway_outbox, django_capture_on_commit_callbacks
):
    client.post(f"/orders/{order.code}/pay/", {"t": order.access_token})
    payment = order.payments.get()
    with django_capture_on_commit_callbacks(execute=True):
        response = pay_with_card(client, payment, "4400 4300 0000 0001")
    waiting = client.get(response["Location"])
    assert waiting.status_code == 200 and b'http-equiv="refresh"' in waiting.content
    with django_capture_on_commit_callbacks(execute=True):
        post_callback(client, gateway_outbox.bodies()[0])
    done = client.get(response["Location"])
    assert done.status_code == 302 and done["Location"] == order.get_absolute_url()


def test_pay_page_redirects_to_the_gateway(client, order):
    response = client.post(f"/orders/{order.code}/pay/", {"t": order.access_token})
    assert response.status_code == 303
    payment = order.payments.get()
    assert f"/sandbox-gateway/pay/{payment.pk}/?p=" in response["Location"]
    form = client.get(response["Location"])
    assert form.status_code == 200 and order.code in form.content.decode()


def test_api_payment_start_and_tickets(
    client, order, gateway_outbox, django_capture_on_commit_callbacks
):
    url = f"/api/v1/orders/{order.pk}/payments/"
    assert client.post(url, {}, content_type="application/json").status_code == 404
    bad = client.post(
        url,
        {"return_url": "https://evil.example/"},
        content_type="application/json",
        HTTP_X_ORDER_TOKEN=order.access_token,
    )
    assert bad.status_code == 400 and "return_url" in bad.json()["error"]["details"]
    response = client.post(
        url, {}, content_type="application/json", HTTP_X_ORDER_TOKEN=order.access_token
    )
    assert response.status_code == 201
    data = response.json()
    assert f"/sandbox-gateway/pay/{data['payment_id']}/?p=" in data["redirect_url"]
    tickets_url = f"/api/v1/orders/{order.pk}/tickets/"
    early = client.get(tickets_url, HTTP_X_ORDER_TOKEN=order.access_token)
    assert early.status_code == 409
    payment = order.payments.get()
    with django_capture_on_commit_callbacks(execute=True):
        pay_with_card(client, payment, "4400 4300 0000 0001")
    with django_capture_on_commit_callbacks(execute=True):
        post_callback(client, gateway_outbox.bodies()[0])
    tickets = client.get(tickets_url, HTTP_X_ORDER_TOKEN=order.access_token).json()
    assert len(tickets) == 2
    assert set(tickets[0]) == {
        "code", "section", "row", "seat", "tier", "ticket_type", "requires_document", "price",
        "qr_svg_url",
    }  # fmt: skip
    assert tickets[0]["ticket_type"] is None
    assert tickets[0]["row"] == "1" and tickets[0]["section"] == "Sector A"
    assert client.get(tickets[0]["qr_svg_url"]).status_code == 200


def test_staff_refund_voids_tickets_and_puts_seats_back(
    paid_order, gateway_outbox, django_capture_on_commit_callbacks
):
    from events.models import EventSeat

    with django_capture_on_commit_callbacks(execute=True):
        order_refund(order=paid_order)
    paid_order.refresh_from_db()
    assert paid_order.status == Order.Status.REFUNDED
    assert set(paid_order.tickets.values_list("status", flat=True)) == {Ticket.Status.VOID}
    seats = EventSeat.objects.filter(pk__in=paid_order.hold.seat_ids)
    assert {(s.status, s.order_id) for s in seats} == {("available", None)}
    assert [b["status"] for b in gateway_outbox.bodies()] == ["refunded"]
    assert ticket_checkin(scanned=paid_order.tickets.first().code)[0] == "void"


def test_staff_cancel_releases_unpaid_stock(order):
    from events.models import EventSeat

    order_cancel(order=order, actor_user=None)
    order.refresh_from_db()
    assert order.status == Order.Status.CANCELLED
    assert set(
        EventSeat.objects.filter(pk__in=order.hold.seat_ids).values_list("status", flat=True)
    ) == {"available"}


def test_admin_search_and_audit_trail(admin_client, paid_order):
    listing = admin_client.get("/admin/orders/order/", {"q": paid_order.email})
    assert listing.status_code == 200 and paid_order.code in listing.content.decode()
    page = admin_client.get(f"/admin/orders/order/{paid_order.pk}/change/")
    assert page.status_code == 200 and "order.paid" in page.content.decode()
    assert "payment.succeeded" in page.content.decode()  # the payments' entries too
    # The action refunds nothing by itself: it opens the order's confirmation page.
    refund = admin_client.post(
        "/admin/orders/order/", {"action": "refund_orders", "_selected_action": [paid_order.pk]}
    )
    assert refund.status_code == 302
    assert refund["Location"] == f"/admin/orders/order/{paid_order.pk}/refund/"
    paid_order.refresh_from_db()
    assert paid_order.status == Order.Status.PAID
