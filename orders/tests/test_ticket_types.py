"""Ticket types at checkout: the buyer picks a type per seat of a showing;
the order's total, the payment's amount and the tickets follow the type's
price for the seat's tier; bad choices are refused with nothing written;
events without types behave as before."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core import mail
from django.utils import translation

from cinema.factories import hall_make, showing_make
from events.models import EventSeat, Seat, TicketTypePrice
from events.selectors import sale_snapshot_forget
from orders.exceptions import ValidationFailed
from orders.models import Hold, Order, Ticket
from orders.services.holds import hold_create
from orders.services.orders import order_create
from orders.tests.conftest_payments import *  # noqa: F403
from orders.tests.factories import pay_with_card, post_callback, seat_ids, web_buyer
from payments.models import Payment
from payments.services import payment_start

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _mail(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


@pytest.fixture
def showing():
    return showing_make(hall=hall_make(rows=4, per_row=6))


def _standard_seats(event, n: int) -> list[int]:
    return list(
        EventSeat.objects.filter(event=event, seat__kind=Seat.Kind.STANDARD)
        .order_by("id")
        .values_list("pk", flat=True)[:n]
    )


def _seat_of_kind(event, kind: str) -> int:
    return EventSeat.objects.filter(event=event, seat__kind=kind).values_list("pk", flat=True)[0]


def _hold(event, seats, buyer=None) -> Hold:
    return hold_create(event=event, buyer=buyer or web_buyer(), seats=seats)


def test_types_price_the_order_and_its_tickets(
    client, showing, gateway_outbox, django_capture_on_commit_callbacks
):
    event = showing.event
    adult, child = _standard_seats(event, 2)
    buyer = web_buyer()
    hold = _hold(event, [adult, child], buyer)
    assert hold.total == Decimal("5000.00")  # two standard seats at the tier's price
    order = order_create(
        hold=hold,
        buyer=buyer,
        email="a@example.com",
        name="Aigerim",
        ticket_types={str(adult): "adult", str(child): "child"},
    )
    order.refresh_from_db()
    assert order.total == Decimal("4000.00")  # 2500 adult + 1500 child
    assert order.seat_types[str(child)]["price"] == "1500.00"
    payment, _url = payment_start(order=order)
    assert payment.amount == Decimal("4000.00")
    with django_capture_on_commit_callbacks(execute=True):
        pay_with_card(client, payment, "4400 4300 0000 0001")
    with django_capture_on_commit_callbacks(execute=True):
        post_callback(client, gateway_outbox.bodies()[0])
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    tickets = {t.event_seat_id: t for t in Ticket.objects.filter(order=order)}
    assert tickets[adult].ticket_type.key == "adult"
    assert tickets[adult].price == Decimal("2500.00")
    assert tickets[child].ticket_type.key == "child"
    assert tickets[child].price == Decimal("1500.00")
    page = client.get(order.get_absolute_url()).content.decode()
    assert 'data-ticket-type="child">Детский' in page
    assert 'data-ticket-type="adult">Взрослый' in page
    assert "Детский" in mail.outbox[-1].body


def test_a_student_ticket_says_to_show_the_document(
    client, showing, gateway_outbox, django_capture_on_commit_callbacks
):
    event = showing.event
    (seat,) = _standard_seats(event, 1)
    buyer = web_buyer()
    order = order_create(
        hold=_hold(event, [seat], buyer),
        buyer=buyer,
        email="s@example.com",
        name="Dana",
        ticket_types={seat: "student"},
    )
    assert order.total == Decimal("1800.00")
    payment, _url = payment_start(order=order)
    with django_capture_on_commit_callbacks(execute=True):
        pay_with_card(client, payment, "4400 4300 0000 0001")
    with django_capture_on_commit_callbacks(execute=True):
        post_callback(client, gateway_outbox.bodies()[0])
    client.cookies["django_language"] = "en"
    page = client.get(order.get_absolute_url()).content.decode()
    assert "data-document" in page
    assert "Student" in page and "student or pension card" in page
    assert "Студенческий" in mail.outbox[-1].body


def test_a_seat_left_out_gets_the_first_type_sold_for_its_tier(showing):
    event = showing.event
    seats = _standard_seats(event, 2)
    buyer = web_buyer()
    order = order_create(
        hold=_hold(event, seats, buyer),
        buyer=buyer,
        email="a@example.com",
        name="A",
        ticket_types={seats[1]: "child"},
    )
    assert order.total == Decimal("4000.00")
    types = {seat: event.ticket_types.get(pk=v["type"]).key for seat, v in order.seat_types.items()}
    assert types == {str(seats[0]): "adult", str(seats[1]): "child"}


@pytest.mark.parametrize(
    ("choice", "needle"),
    [
        ("granny", "Unknown ticket type"),
        ("child@vip", "not sold"),
        ("foreign", "Not seats of this reservation"),
        ("shape", "object"),
    ],
)
def test_bad_choices_are_refused_and_the_hold_stays_as_it_was(showing, choice, needle):
    event = showing.event
    vip = _seat_of_kind(event, Seat.Kind.VIP)
    (standard,) = _standard_seats(event, 1)
    # A child ticket is not sold on VIP seats of this showing.
    child = event.ticket_types.get(key="child")
    TicketTypePrice.objects.filter(ticket_type=child, tier__key="vip").update(price=None)
    sale_snapshot_forget()
    buyer = web_buyer()
    hold = _hold(event, [vip, standard], buyer)
    chosen = {
        "granny": {vip: "granny"},
        "child@vip": {vip: "child"},
        "foreign": {vip: "adult", 999999: "adult"},
        "shape": ["adult"],
    }[choice]
    # The messages are asserted in English (ru and kk: test_translations).
    with translation.override("en"), pytest.raises(ValidationFailed) as refused:
        order_create(hold=hold, buyer=buyer, email="a@example.com", name="A", ticket_types=chosen)
    assert needle in " ".join(refused.value.details["ticket_types"])
    hold.refresh_from_db()
    assert hold.status == Hold.Status.ACTIVE
    assert not Order.objects.filter(hold=hold).exists()
    # The buyer fixes the choice and the same hold becomes an order.
    order = order_create(
        hold=hold, buyer=buyer, email="a@example.com", name="A", ticket_types={vip: "adult"}
    )
    assert order.total == Decimal("7000.00")  # VIP 4500 + standard adult 2500


def test_types_for_an_event_without_types_are_refused_and_plain_orders_are_unchanged(event):
    buyer = web_buyer()
    hold = _hold(event, seat_ids(event)[:2], buyer)
    with pytest.raises(ValidationFailed):
        order_create(
            hold=hold,
            buyer=buyer,
            email="a@example.com",
            name="A",
            ticket_types={seat_ids(event)[0]: "adult"},
        )
    order = order_create(hold=hold, buyer=buyer, email="a@example.com", name="A")
    assert order.total == hold.total
    assert order.seat_types == {}


def test_checkout_page_offers_types_and_posts_them(client, showing):
    event = showing.event
    seats = _standard_seats(event, 2)
    client.get("/")  # a device cookie
    response = client.post(f"/e/{event.slug}/hold/", {"seats": seats})
    assert response.status_code == 302
    checkout = response["Location"]
    page = client.get(checkout, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert f'name="type_{seats[0]}"' in page and "Child" in page
    response = client.post(
        checkout,
        {
            "email": "g@example.com",
            "name": "Guest",
            f"type_{seats[0]}": "adult",
            f"type_{seats[1]}": "child",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    order = Order.objects.get(hold__event=event)
    assert order.total == Decimal("4000.00")
    pay = client.get(response["Location"], HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'data-ticket-type="child"' in pay


def test_checkout_page_shows_a_bad_type_as_an_error(client, showing):
    event = showing.event
    seats = _standard_seats(event, 1)
    client.get("/")
    checkout = client.post(f"/e/{event.slug}/hold/", {"seats": seats})["Location"]
    response = client.post(
        checkout,
        {"email": "g@example.com", "name": "Guest", f"type_{seats[0]}": "granny"},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 200
    assert "Unknown ticket type" in response.content.decode()
    assert not Order.objects.filter(hold__event=event).exists()


def test_api_order_takes_types_per_seat(client, showing):
    event = showing.event
    seats = _standard_seats(event, 2)
    hold = client.post(
        "/api/v1/holds/", {"event": event.pk, "seats": seats}, content_type="application/json"
    )
    assert hold.status_code == 201, hold.content
    body = {
        "hold": hold.json()["id"],
        "email": "api@example.com",
        "name": "Api",
        "ticket_types": {str(seats[0]): "adult", str(seats[1]): "child"},
    }
    bad = client.post(
        "/api/v1/orders/",
        {**body, "ticket_types": {str(seats[0]): "granny"}},
        content_type="application/json",
    )
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "validation_error"
    assert "ticket_types" in bad.json()["error"]["details"]
    made = client.post("/api/v1/orders/", body, content_type="application/json")
    assert made.status_code == 201, made.content
    assert made.json()["total"] == "4000.00"
    assert made.json()["ticket_types"] == {str(seats[0]): "adult", str(seats[1]): "child"}
    detail = client.get(f"/api/v1/events/{event.slug}/").json()
    assert [t["key"] for t in detail["ticket_types"]] == ["adult", "child", "student"]
    assert Payment.objects.count() == 0
