"""Buyer refunds in the personal account: the buyer's own paid order, until the
event's refund_cutoff_minutes before its start, through the staff refund
service (places back on sale, the provider refund via the outbox), with a
confirmation step; after the cut-off the button is gone and a POST refused."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.utils import timezone

from cinema.factories import hall_make, showing_make
from events.models import Event, EventSeat
from orders.models import Order, Ticket
from orders.tests.conftest_payments import *  # noqa: F403
from orders.tests.factories import order_make, pay_with_card, post_callback, race
from payments.exceptions import BuyerRefundClosed, BuyerRefundNotAllowed
from payments.models import Payment, Refund
from payments.services import order_refund_by_buyer, payment_start
from ticketing.models import OutboxMessage

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _mail(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


@pytest.fixture
def user():
    return User.objects.create_user("aigerim", email="buyer@example.com", password="x")


def _paid(client, event, user, gateway_outbox, capture) -> Order:
    order = order_make(event=event, seat_count=2)
    Order.objects.filter(pk=order.pk).update(user=user)
    order.refresh_from_db()
    payment, _url = payment_start(order=order)
    with capture(execute=True):
        pay_with_card(client, payment, "4400 4300 0000 0001")
    with capture(execute=True):
        post_callback(client, gateway_outbox.bodies()[0])
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    gateway_outbox.clear()
    mail.outbox.clear()
    return order


def _showing(starts_in: timedelta, cutoff: int | None = 30) -> Event:
    showing = showing_make(hall=hall_make(rows=3, per_row=5), starts_at=timezone.now() + starts_in)
    Event.objects.filter(pk=showing.pk).update(refund_cutoff_minutes=cutoff)
    return Event.objects.get(pk=showing.pk)


@pytest.fixture
def paid_early(client, user, gateway_outbox, django_capture_on_commit_callbacks):
    """A paid order of a showing in 3 hours (refunds until 30 minutes before)."""
    event = _showing(timedelta(hours=3))
    return _paid(client, event, user, gateway_outbox, django_capture_on_commit_callbacks)


def test_before_the_cut_off_the_buyer_confirms_and_gets_the_money_back(
    client, user, paid_early, django_capture_on_commit_callbacks
):
    order = paid_early
    client.force_login(user)
    page = client.get(order.get_absolute_url()).content.decode()
    assert "data-refund-link" in page
    assert "data-refund-link" in client.get("/account/tickets/").content.decode()
    confirm = client.get(f"/orders/{order.code}/refund/")
    assert confirm.status_code == 200
    assert 'name="confirm"' in confirm.content.decode()
    assert order.status == Order.Status.PAID  # looking at the confirmation changes nothing
    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(f"/orders/{order.code}/refund/", {"confirm": "1"})
    assert done.status_code == 303
    order.refresh_from_db()
    assert order.status == Order.Status.REFUNDED
    assert set(Ticket.objects.filter(order=order).values_list("status", flat=True)) == {"void"}
    seats = EventSeat.objects.filter(pk__in=order.hold.seat_ids)
    assert set(seats.values_list("status", flat=True)) == {"available"}
    refund = Refund.objects.get(order=order)
    assert refund.amount == order.total and refund.whole
    assert Payment.objects.get(order=order).status in (
        Payment.Status.REFUND_PENDING,
        Payment.Status.REFUNDED,
    )
    assert OutboxMessage.objects.filter(kind__icontains="refund").exists()
    # A second POST (a double submit, the back button) refunds nothing more.
    again = client.post(f"/orders/{order.code}/refund/", {"confirm": "1"})
    assert again.status_code == 409
    assert Refund.objects.filter(order=order).count() == 1


def test_after_the_cut_off_the_button_is_gone_and_a_post_is_refused(
    client, user, gateway_outbox, django_capture_on_commit_callbacks
):
    event = _showing(timedelta(minutes=20))  # cut-off was 10 minutes ago
    order = _paid(client, event, user, gateway_outbox, django_capture_on_commit_callbacks)
    client.force_login(user)
    client.cookies["django_language"] = "en"
    page = client.get(order.get_absolute_url()).content.decode()
    assert "data-refund-link" not in page
    assert "Refunds closed at" in page
    assert "data-refund-link" not in client.get("/account/tickets/").content.decode()
    refused = client.post(f"/orders/{order.code}/refund/", {"confirm": "1"})
    assert refused.status_code == 409
    assert "Refunds of this order are closed" in refused.content.decode()
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert not Refund.objects.filter(order=order).exists()
    with pytest.raises(BuyerRefundClosed):
        order_refund_by_buyer(order=order, user=user)


def test_the_cut_off_is_exact(paid_early, user):
    starts = paid_early.event.starts_at
    with pytest.raises(BuyerRefundClosed):
        order_refund_by_buyer(order=paid_early, user=user, now=starts - timedelta(minutes=30))
    refund = order_refund_by_buyer(
        order=paid_early, user=user, now=starts - timedelta(minutes=30, seconds=1)
    )
    assert refund is not None


def test_an_event_without_buyer_refunds_refuses_them(
    client, user, gateway_outbox, django_capture_on_commit_callbacks
):
    event = _showing(timedelta(hours=3), cutoff=None)
    order = _paid(client, event, user, gateway_outbox, django_capture_on_commit_callbacks)
    client.force_login(user)
    assert "data-refund-link" not in client.get(order.get_absolute_url()).content.decode()
    assert client.post(f"/orders/{order.code}/refund/").status_code == 403
    with pytest.raises(BuyerRefundNotAllowed):
        order_refund_by_buyer(order=order, user=user)


def test_another_account_cannot_refund_the_order(client, paid_early):
    other = User.objects.create_user("other", password="x")
    client.force_login(other)
    assert client.post(f"/orders/{paid_early.code}/refund/").status_code == 404
    client.logout()
    anonymous = client.post(f"/orders/{paid_early.code}/refund/")
    assert anonymous.status_code == 302  # to sign in
    paid_early.refresh_from_db()
    assert paid_early.status == Order.Status.PAID


@pytest.mark.django_db(transaction=True)
def test_two_refund_submits_at_once_refund_once(paid_early, user):
    def attempt(_i):
        try:
            order_refund_by_buyer(order=Order.objects.get(pk=paid_early.pk), user=user)
            return "refunded"
        except Exception as exc:  # the loser sees the order refunded already
            return type(exc).__name__

    results = race(4, attempt)
    assert results.count("refunded") == 1
    assert Refund.objects.filter(order=paid_early).count() == 1
