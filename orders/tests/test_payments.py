from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings
from django.core import mail
from django.utils import timezone

from events.models import EventSeat
from orders.models import Hold, Order, Ticket
from orders.tests.conftest_payments import *  # noqa: F403
from orders.tests.factories import (
    event_make,
    gateway_link,
    order_expire_and_resell,
    order_make,
    pay_with_card,
    post_callback,
)
from payments.exceptions import OrderExpired, OrderNotPayable
from payments.models import Payment, PaymentCallback
from payments.services import payment_start
from ticketing.models import AuditEntry

pytestmark = pytest.mark.django_db

PARTNER_VISA = "4400 4300 0000 0001"
OTHER_VISA = "4111 1111 1111 1111"
MASTERCARD = "5555 5555 5555 4444"


def _paid_via_gateway(client, order, outbox, capture, number=PARTNER_VISA):
    payment, _url = payment_start(order=order)
    with capture(execute=True):
        response = pay_with_card(client, payment, number)
    assert response.status_code == 303, response.content
    for body in outbox.bodies():
        with capture(execute=True):
            assert post_callback(client, body).status_code == 200
    return payment


def test_payment_start_creates_payment_and_extends_hold_once(event):
    order = order_make(event=event, seat_count=2, minutes=2)
    before = order.hold.expires_at
    payment, url = payment_start(order=order)
    assert url.startswith(f"{settings.SITE_URL}/sandbox-gateway/pay/{payment.pk}/?p=")
    assert payment.amount == order.total and payment.status == Payment.Status.CREATED
    order.refresh_from_db()
    order.hold.refresh_from_db()
    assert order.hold.extended and order.hold.expires_at > before
    assert order.expires_at == order.hold.expires_at
    assert order.hold.expires_at <= order.hold.created_at + timedelta(minutes=20)
    seats = EventSeat.objects.filter(pk__in=order.hold.seat_ids)
    assert {s.held_until for s in seats} == {order.hold.expires_at}
    extended_to = order.hold.expires_at

    payment_start(order=order)  # a retry does not extend again
    order.hold.refresh_from_db()
    assert order.hold.expires_at == extended_to
    assert AuditEntry.objects.filter(action="hold.extended_for_payment").count() == 1


def test_payment_start_never_shortens_a_long_hold(order):
    before = order.expires_at
    payment_start(order=order)
    order.refresh_from_db()
    assert order.expires_at == before and not order.hold.extended


def test_payment_start_refuses_expired_and_paid_orders(event):
    expired = order_make(event=event, seat_count=1, minutes=-1)
    with pytest.raises(OrderExpired):
        payment_start(order=expired)
    Order.objects.filter(pk=expired.pk).update(status=Order.Status.PAID)
    with pytest.raises(OrderNotPayable):
        payment_start(order=expired)


def test_success_sells_seats_issues_tickets_and_mails_the_buyer(
    client, order, gateway_outbox, passes_completed, django_capture_on_commit_callbacks
):
    payment = _paid_via_gateway(client, order, gateway_outbox, django_capture_on_commit_callbacks)
    order.refresh_from_db()
    payment.refresh_from_db()
    assert order.status == Order.Status.PAID and order.paid_at is not None
    assert payment.status == Payment.Status.SUCCEEDED
    assert (payment.card_brand, payment.card_bin, payment.card_last4) == ("visa", "440043", "0001")
    seats = EventSeat.objects.filter(pk__in=order.hold.seat_ids)
    assert {(s.status, s.order_id, s.held_until) for s in seats} == {("sold", order.pk, None)}
    tickets = list(order.tickets.all())
    assert len(tickets) == 2 and {t.event_seat_id for t in tickets} == set(order.hold.seat_ids)
    assert Hold.objects.get(pk=order.hold_id).status == Hold.Status.CONVERTED
    assert passes_completed == [{"event_id": order.event_id, "buyer_key": order.buyer_key}]
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [order.email]
    assert order.get_absolute_url() in message.body
    assert order.get_absolute_url() in message.alternatives[0][0]
    actions = set(AuditEntry.objects.values_list("action", flat=True))
    assert {"payment.started", "payment.succeeded", "order.paid"} <= actions


@pytest.mark.parametrize(
    ("language", "subject", "body"),
    [
        ("ru", "Ваши билеты: ", "Ваши билеты с QR-кодами"),  # noqa: RUF001
        ("kk", "Сіздің билеттеріңіз: ", "QR-кодтары бар билеттеріңіз"),  # noqa: RUF001
        ("en", "Your tickets: ", "Your tickets with QR codes"),
    ],
)
def test_the_ticket_mail_is_written_in_the_buyers_language(
    client, order, gateway_outbox, django_capture_on_commit_callbacks, language, subject, body
):
    Order.objects.filter(pk=order.pk).update(language=language)
    _paid_via_gateway(client, order, gateway_outbox, django_capture_on_commit_callbacks)
    (message,) = mail.outbox
    assert message.subject.startswith(subject), message.subject
    assert body in message.alternatives[0][0]


def test_the_ticket_mail_says_when_and_where_in_the_events_time_zone(
    client, order, gateway_outbox, django_capture_on_commit_callbacks
):
    event = order.event
    # 14:30 UTC is 19:30 in Almaty (UTC+5); doors an hour earlier.
    event.starts_at = datetime(2027, 7, 10, 14, 30, tzinfo=UTC)
    event.doors_at = event.starts_at - timedelta(hours=1)
    event.save()
    venue = event.venue
    venue.address, venue.city = "Satpaev St 29/3", "Almaty"
    venue.save()
    Order.objects.filter(pk=order.pk).update(language="en")
    _paid_via_gateway(client, order, gateway_outbox, django_capture_on_commit_callbacks)
    (message,) = mail.outbox
    for text in (message.body, message.alternatives[0][0]):
        assert "10 July 2027, 19:30" in text and "doors 18:30" in text
        assert "(Almaty time)" in text
        assert f"{venue.name}, Satpaev St 29/3, Almaty" in text
        assert "Sector A, row 1, seat 1 (Standard)" in text


def test_full_card_number_is_never_stored(
    client, order, gateway_outbox, django_capture_on_commit_callbacks
):
    _paid_via_gateway(client, order, gateway_outbox, django_capture_on_commit_callbacks)
    stored = (
        repr(list(Payment.objects.values()))
        + repr(list(PaymentCallback.objects.values()))
        + repr(list(AuditEntry.objects.values()))
    )
    assert "4400430000000001" not in stored and "4400 4300 0000 0001" not in stored


def test_duplicate_callback_is_processed_once(
    client, order, gateway_outbox, django_capture_on_commit_callbacks
):
    payment = _paid_via_gateway(
        client,
        order,
        gateway_outbox,
        django_capture_on_commit_callbacks,
        number="4400 4300 0000 0019",
    )
    bodies = gateway_outbox.bodies()
    assert len(bodies) == 2 and bodies[0] == bodies[1]
    assert PaymentCallback.objects.filter(payment=payment).count() == 1
    assert order.tickets.count() == 2
    assert post_callback(client, bodies[0]).json() == {"result": "duplicate"}
    assert Ticket.objects.filter(order=order).count() == 2


def test_provider_callbacks_are_not_throttled_like_site_callers(
    client, order, gateway_outbox, django_capture_on_commit_callbacks, settings
):
    # Every callback comes from the provider's one address (the worker's
    # 127.0.0.1 in the sandbox): under the per-IP budget of site callers the
    # on-sale's callbacks got 429s and paid orders waited on retry backoff.
    settings.API_THROTTLE_ANON = "2/min"
    _paid_via_gateway(client, order, gateway_outbox, django_capture_on_commit_callbacks)
    body = gateway_outbox.bodies()[0]
    answers = [post_callback(client, body).status_code for _ in range(5)]
    assert answers == [200] * 5
    order.refresh_from_db()
    assert order.status == Order.Status.PAID


@pytest.mark.parametrize("signature", ["", "sha256=" + "0" * 64, "md5=abc"])
def test_forged_callback_is_rejected_and_changes_nothing(client, order, signature):
    payment, _url = payment_start(order=order)
    body = {
        "payment_id": str(payment.pk),
        "status": "succeeded",
        "amount": str(payment.amount),
        "currency": payment.currency,
        "card": {},
        "event_id": "evt_forged",
    }
    response = post_callback(client, body, signature=signature)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "bad_callback"
    payment.refresh_from_db()
    order.refresh_from_db()
    assert payment.status == Payment.Status.CREATED and order.status == Order.Status.PENDING_PAYMENT
    assert not PaymentCallback.objects.exists() and not Ticket.objects.exists()


def test_malformed_signed_callback_is_a_400_not_a_500(client, order):
    payment, _url = payment_start(order=order)
    assert post_callback(client, {"payment_id": "nope", "status": "succeeded"}).status_code == 400
    body = {
        "payment_id": str(payment.pk),
        "status": "weird",
        "amount": "1",
        "currency": "KZT",
        "event_id": "e1",
    }
    assert post_callback(client, body).status_code == 400


def test_success_after_expiry_and_resale_refunds_and_never_sells_twice(
    client, order, gateway_outbox, django_capture_on_commit_callbacks
):
    payment, _url = payment_start(order=order)
    with django_capture_on_commit_callbacks(execute=True):
        assert pay_with_card(client, payment, PARTNER_VISA).status_code == 303
    other = order_expire_and_resell(order)
    [success] = gateway_outbox.bodies("succeeded")
    with django_capture_on_commit_callbacks(execute=True):
        assert post_callback(client, success).json() == {"result": "refunding"}
    order.refresh_from_db()
    payment.refresh_from_db()
    assert order.status == Order.Status.REFUNDED
    assert payment.status == Payment.Status.REFUND_PENDING
    assert not Ticket.objects.filter(order=order).exists()
    seats = EventSeat.objects.filter(pk__in=other.seat_ids)
    assert {(s.status, s.hold_id, s.order_id) for s in seats} == {("held", other.pk, None)}
    # The refund went out through the provider and its confirmation closes the payment.
    [refund] = gateway_outbox.bodies("refunded")
    assert refund["payment_id"] == str(payment.pk)
    assert post_callback(client, refund).json() == {"result": "refunded"}
    payment.refresh_from_db()
    assert payment.status == Payment.Status.REFUNDED


def test_late_success_with_seats_still_owned_is_sold(
    client, order, gateway_outbox, django_capture_on_commit_callbacks
):
    """Past held_until but nobody took the seats: hold_id still ours, so selling is safe."""
    payment, _url = payment_start(order=order)
    with django_capture_on_commit_callbacks(execute=True):
        pay_with_card(client, payment, PARTNER_VISA)
    past = timezone.now() - timedelta(seconds=1)
    EventSeat.objects.filter(hold_id=order.hold_id).update(held_until=past)
    Order.objects.filter(pk=order.pk).update(expires_at=past)
    with django_capture_on_commit_callbacks(execute=True):
        assert post_callback(client, gateway_outbox.bodies()[0]).json() == {"result": "paid"}
    assert order.tickets.count() == 2


def test_decline_keeps_order_payable_and_a_second_payment_succeeds(
    client, order, gateway_outbox, django_capture_on_commit_callbacks
):
    first, _url = payment_start(order=order)
    with django_capture_on_commit_callbacks(execute=True):
        response = pay_with_card(client, first, "4000 0000 0000 0002")
    assert response.status_code == 200
    assert "declined" in response.content.decode().lower() or response.context["reason"]
    [failed] = gateway_outbox.bodies("failed")
    assert post_callback(client, failed).json() == {"result": "failed"}
    first.refresh_from_db()
    order.refresh_from_db()
    assert first.status == Payment.Status.FAILED
    assert order.status == Order.Status.PENDING_PAYMENT
    assert set(
        EventSeat.objects.filter(pk__in=order.hold.seat_ids).values_list("status", flat=True)
    ) == {"held"}

    gateway_outbox.clear()
    second = _paid_via_gateway(client, order, gateway_outbox, django_capture_on_commit_callbacks)
    order.refresh_from_db()
    assert order.status == Order.Status.PAID and order.tickets.count() == 2
    # The late `failed` of the first payment changes nothing now.
    assert post_callback(client, {**failed, "event_id": "evt_late"}).json() == {"result": "ignored"}
    second.refresh_from_db()
    assert second.status == Payment.Status.SUCCEEDED


@pytest.mark.parametrize("callback_first", [False, True])
def test_a_declined_payment_posted_again_stays_declined(
    client, order, gateway_outbox, django_capture_on_commit_callbacks, callback_first
):
    """The buyer re-submits the gateway form of a declined payment with a good
    card (before or after its `failed` callback): the attempt is spent, so the
    answer is declined again and no money moves; it was never 'accepted'."""
    payment, _url = payment_start(order=order)
    with django_capture_on_commit_callbacks(execute=True):
        first = pay_with_card(client, payment, "4000000000009995", json_client=True)
    assert first.json()["status"] == "declined"
    if callback_first:
        [failed] = gateway_outbox.bodies("failed")
        assert post_callback(client, failed).json() == {"result": "failed"}
    gateway_outbox.clear()
    again = pay_with_card(client, payment, PARTNER_VISA, json_client=True)
    assert again.status_code == 422
    assert again.json()["status"] == "declined"
    assert gateway_outbox.bodies() == []
    order.refresh_from_db()
    assert order.status == Order.Status.PENDING_PAYMENT


def test_failed_after_succeeded_changes_nothing(
    client, order, gateway_outbox, django_capture_on_commit_callbacks
):
    payment = _paid_via_gateway(client, order, gateway_outbox, django_capture_on_commit_callbacks)
    body = {**gateway_outbox.bodies()[0], "status": "failed", "event_id": "evt_out_of_order"}
    assert post_callback(client, body).json() == {"result": "ignored"}
    payment.refresh_from_db()
    order.refresh_from_db()
    assert payment.status == Payment.Status.SUCCEEDED and order.status == Order.Status.PAID


def test_insufficient_funds_json_client_gets_422(
    client, order, gateway_outbox, django_capture_on_commit_callbacks
):
    payment, _url = payment_start(order=order)
    with django_capture_on_commit_callbacks(execute=True):
        response = pay_with_card(client, payment, "4000000000009995", json_client=True)
    assert response.status_code == 422
    # ru is the default language (orders/locale).
    assert response.json()["status"] == "declined"
    assert response.json()["reason"] == "Недостаточно средств на карте."
    assert gateway_outbox.bodies()[0]["reason"] == "insufficient_funds"


def test_amount_mismatch_is_not_a_sale(
    client, order, gateway_outbox, django_capture_on_commit_callbacks
):
    payment, _url = payment_start(order=order)
    body = {
        "payment_id": str(payment.pk),
        "status": "succeeded",
        "amount": "1.00",
        "currency": payment.currency,
        "card": {},
        "event_id": "evt_cheap",
    }
    with django_capture_on_commit_callbacks(execute=True):
        assert post_callback(client, body).json() == {"result": "mismatch"}
    order.refresh_from_db()
    assert order.status == Order.Status.PENDING_PAYMENT and not order.tickets.exists()


@pytest.mark.parametrize(
    ("brands", "bins", "number", "words"),
    [
        (["visa"], [], MASTERCARD, "visa"),
        (["visa"], ["440043"], OTHER_VISA, "440043"),
    ],
)
def test_card_rule_refusal_tells_the_buyer_why(client, gateway_outbox, brands, bins, number, words):
    event = event_make(seats=2, brands=brands, bins=bins)
    order = order_make(event=event, seat_count=1)
    payment, _url = payment_start(order=order)
    form = client.get(gateway_link(payment))
    assert form.status_code == 200 and words in form.context["payment"].card_note.lower()
    response = pay_with_card(client, payment, number)
    assert response.status_code == 200
    assert words in response.context["reason"].lower()
    api = pay_with_card(client, payment, number, json_client=True)
    assert api.status_code == 422 and api.json()["status"] == "refused"
    assert words in api.json()["reason"].lower()
    assert gateway_outbox == []
    # The allowed partner card still goes through on the same payment.
    assert pay_with_card(client, payment, PARTNER_VISA).status_code == 303


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"card_number": "4111 1111 1111 1112"}, "card_number"),  # Luhn
        ({"exp_year": "2001"}, "exp_year"),
        ({"exp_month": "13"}, "exp_month"),
        ({"cvc": "1"}, "cvc"),
    ],
)
def test_invalid_card_fields_are_refused(client, order, gateway_outbox, fields, field):
    payment, _url = payment_start(order=order)
    number = fields.pop("card_number", PARTNER_VISA)
    response = pay_with_card(client, payment, number, **fields)
    assert response.status_code == 200 and response.context["field"] == field
    assert gateway_outbox == []


def test_three_d_secure_step(client, order, gateway_outbox, django_capture_on_commit_callbacks):
    payment, _url = payment_start(order=order)
    response = pay_with_card(client, payment, "4000 0000 0000 3220")
    assert response.status_code == 303
    assert response["Location"] == f"http://testserver/sandbox-gateway/3ds/{payment.pk}/"
    assert client.get(response["Location"]).status_code == 200
    wrong = client.post(response["Location"], {"code": "000000"})
    assert wrong.status_code == 200 and wrong.context["reason"]
    assert gateway_outbox == []
    with django_capture_on_commit_callbacks(execute=True):
        ok = client.post(response["Location"], {"code": "123456"})
    assert ok.status_code == 303 and ok["Location"] == settings.SITE_URL + payment.return_url
    [body] = gateway_outbox.bodies("succeeded")
    assert body["card"] == {"brand": "visa", "bin": "400000", "last4": "3220"}


def test_delayed_card_schedules_the_callback_60s_later(
    client, order, gateway_outbox, django_capture_on_commit_callbacks
):
    payment, _url = payment_start(order=order)
    with django_capture_on_commit_callbacks(execute=True):
        pay_with_card(client, payment, "4000 0000 0000 0119")
    assert [countdown for _body, countdown in gateway_outbox] == [60]


def test_double_submitted_form_charges_once(
    client, order, gateway_outbox, django_capture_on_commit_callbacks
):
    payment, _url = payment_start(order=order)
    with django_capture_on_commit_callbacks(execute=True):
        pay_with_card(client, payment, PARTNER_VISA)
        pay_with_card(client, payment, PARTNER_VISA)
    assert len(gateway_outbox) == 1


def test_brand_detection():
    from sandbox.cards import card_brand

    assert card_brand("4111111111111111") == "visa"
    assert card_brand("5555555555554444") == "mastercard"
    assert card_brand("2221000000000009") == "mastercard"
    assert card_brand("2720990000000007") == "mastercard"
    assert card_brand("378282246310005") == "amex"
    assert card_brand("2200000000000004") == "mir"


def test_second_successful_payment_of_a_paid_order_is_refunded(
    client, order, gateway_outbox, django_capture_on_commit_callbacks
):
    """Two gateway tabs, both paid: one sale, the other payment goes back."""
    first, _url = payment_start(order=order)
    second, _url = payment_start(order=order)
    with django_capture_on_commit_callbacks(execute=True):
        pay_with_card(client, first, PARTNER_VISA)
        pay_with_card(client, second, PARTNER_VISA)
    results = []
    for body in gateway_outbox.bodies("succeeded"):
        with django_capture_on_commit_callbacks(execute=True):
            results.append(post_callback(client, body).json()["result"])
    assert results == ["paid", "refunding"]
    order.refresh_from_db()
    second.refresh_from_db()
    assert order.status == Order.Status.PAID and order.tickets.count() == 2
    assert second.status == Payment.Status.REFUND_PENDING
    assert [b["payment_id"] for b in gateway_outbox.bodies("refunded")] == [str(second.pk)]


def test_openapi_schema_lists_the_payment_endpoints(client):
    schema = client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    text = schema.content.decode()
    for path in (
        "/api/v1/orders/{order_id}/payments/",
        "/api/v1/checkin/",
        "/api/v1/payments/{provider}/callback/",
        "/api/v1/orders/{order_id}/tickets/",
    ):
        assert path in text
