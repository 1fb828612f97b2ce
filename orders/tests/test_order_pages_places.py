# ruff: noqa: RUF001 - Russian and Kazakh text uses Cyrillic letters that look like Latin ones
"""What the order and pay pages say about the places (issue 14, problem 7).

A pending order's page and its pay pages list the seats or standing places
being paid for; an expired or cancelled order says so, and that its seats
were released, with the way back to the event; a ticket's place is written
without repeating the section's name inside the tier's.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client

from orders.models import Order
from orders.services.orders import order_cancel
from orders.tests.conftest_payments import *  # noqa: F403
from orders.tests.factories import order_make, pay_with_card, post_callback, standing_order_make
from payments.models import Payment
from payments.services import payment_start
from ticketing.money import money_format

pytestmark = pytest.mark.django_db

NO_TICKETS_YET = "No tickets in this order yet"
EXPIRED = "This order expired before it was paid; its seats were released."
CANCELLED = "This order was cancelled; its seats were released."


def en(client: Client, url: str):
    response = client.get(url, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200, (url, response.status_code)
    return response.content.decode()


def seat_lines(order: Order) -> list[str]:
    price = money_format(Decimal("10000.00"), "KZT", "en")
    return [f"Sector A, row 1, seat {n} · Standard · {price}" for n in (1, 2)]


def test_a_pending_order_page_lists_the_seats_being_paid_for(client, order):
    html = en(client, order.get_absolute_url())
    for line in seat_lines(order):
        assert line in html
    assert "Pay" in html and NO_TICKETS_YET not in html


def test_the_pay_page_lists_the_seats_and_the_standing_places(client, event, order):
    html = en(client, f"/orders/{order.code}/pay/?t={order.access_token}")
    for line in seat_lines(order):
        assert line in html
    standing, _area = standing_order_make(event=event, quantity=3, capacity=10)
    html = en(client, f"/orders/{standing.code}/pay/?t={standing.access_token}")
    price = money_format(Decimal("5000.00"), "KZT", "en")
    assert f"Fan zone · 3 standing places · Fan · {price}" in html


def test_the_return_page_after_a_declined_card_lists_the_seats_to_pay_again(
    client, order, gateway_outbox, django_capture_on_commit_callbacks
):
    payment, _url = payment_start(order=order)
    with django_capture_on_commit_callbacks(execute=True):
        pay_with_card(client, payment, "4000 0000 0000 0002")  # declined
    with django_capture_on_commit_callbacks(execute=True):
        post_callback(client, gateway_outbox.bodies("failed")[0])
    assert Payment.objects.get(pk=payment.pk).status == Payment.Status.FAILED
    html = en(client, f"/orders/{order.code}/return/?t={order.access_token}")
    assert "The payment did not go through." in html and "Pay again" in html
    for line in seat_lines(order):
        assert line in html


@pytest.mark.parametrize(("status", "text"), [("expired", EXPIRED), ("cancelled", CANCELLED)])
def test_an_ended_order_says_so_and_leads_back_to_the_event(client, event, status, text):
    order = order_make(event=event, seat_count=2)
    if status == "cancelled":
        order_cancel(order=order, actor="buyer")
    else:
        Order.objects.filter(pk=order.pk).update(status=Order.Status.EXPIRED)
    back = f'href="/e/{event.slug}/"'
    for url in (order.get_absolute_url(), f"/orders/{order.code}/pay/?t={order.access_token}"):
        html = en(client, url)
        assert text in html and back in html, url
        assert NO_TICKETS_YET not in html and "row 1, seat 1" not in html
    # "My tickets" says the same instead of "No tickets in this order yet".
    user = get_user_model().objects.create_user(username="aigerim")
    Order.objects.filter(pk=order.pk).update(user=user)
    client.force_login(user)
    html = en(client, "/account/tickets/")
    assert text in html and back in html and NO_TICKETS_YET not in html


def test_an_ended_order_is_explained_in_russian_and_kazakh(client, event):
    order = order_make(event=event, seat_count=1)
    Order.objects.filter(pk=order.pk).update(status=Order.Status.EXPIRED)
    ru = client.get(order.get_absolute_url()).content.decode()
    assert "Время на оплату этого заказа истекло, его места освобождены." in ru
    kk = client.get(order.get_absolute_url(), HTTP_ACCEPT_LANGUAGE="kk").content.decode()
    assert "Бұл тапсырысты төлеу уақыты өтіп кетті, оның орындары босатылды." in kk


def _paid(client, order, outbox, capture):
    payment, _url = payment_start(order=order)
    with capture(execute=True):
        pay_with_card(client, payment, "4400 4300 0000 0001")
    with capture(execute=True):
        post_callback(client, outbox.bodies("succeeded")[0])
    (message,) = mail.outbox
    return message.body, message.alternatives[0][0]


def test_the_ticket_mail_names_a_standing_zone_once(
    client, event, gateway_outbox, django_capture_on_commit_callbacks
):
    """The e-mail said "Fan zone (Fan zone (standing))" for a tier named after its zone."""
    order, area = standing_order_make(event=event, quantity=2, capacity=10)
    area.tier.name = "Fan zone (standing)"
    area.tier.save(update_fields=["name"])
    text, html = _paid(client, order, gateway_outbox, django_capture_on_commit_callbacks)
    assert text.count("- Fan zone (standing)\n") == 2
    assert "Fan zone (Fan zone" not in text and "Fan zone (Fan zone" not in html


def test_the_ticket_mail_keeps_a_tier_that_says_something_else(
    client, event, gateway_outbox, django_capture_on_commit_callbacks
):
    order, _area = standing_order_make(event=event, quantity=1, capacity=10)
    seated = order_make(event=event, seat_count=1)
    text, _html = _paid(client, order, gateway_outbox, django_capture_on_commit_callbacks)
    assert "- Fan zone (Fan)\n" in text
    mail.outbox.clear()
    gateway_outbox.clear()
    Order.objects.filter(pk=seated.pk).update(language="en")
    text, _html = _paid(client, seated, gateway_outbox, django_capture_on_commit_callbacks)
    assert "- Sector A, row 1, seat 1 (Standard)\n" in text


def test_the_return_page_sees_a_payment_settled_between_its_reads(
    client, order, gateway_outbox, django_capture_on_commit_callbacks, monkeypatch
):
    """The callback commits after the return page read the order (pending) and
    before it reads the payment (succeeded): the buyer goes to the paid order,
    never to "pay again" (seen by the journeys in 2 of 4 runs)."""
    from payments import views

    payment, _url = payment_start(order=order)
    with django_capture_on_commit_callbacks(execute=True):
        pay_with_card(client, payment, "4400 4300 0000 0001")
    real = views.selectors.order_last_payment

    def callback_lands_first(order_):
        with django_capture_on_commit_callbacks(execute=True):
            post_callback(Client(), gateway_outbox.bodies("succeeded")[0])
        return real(order_)

    monkeypatch.setattr(views.selectors, "order_last_payment", callback_lands_first)
    response = client.get(f"/orders/{order.code}/return/?t={order.access_token}")
    assert response.status_code == 302
    assert response["Location"].startswith(f"/orders/{order.code}/")


def test_the_pay_page_says_the_deadline_in_the_events_time_zone(client, event, order):
    from zoneinfo import ZoneInfo

    from events.models import Event

    Event.objects.filter(pk=event.pk).update(time_zone="Asia/Tokyo")  # not the site's zone
    order.refresh_from_db()
    html = en(client, f"/orders/{order.code}/pay/?t={order.access_token}")
    local = order.expires_at.astimezone(ZoneInfo("Asia/Tokyo")).strftime("%H:%M:%S")
    assert f"Pay before {local}" in html
