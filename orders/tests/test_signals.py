"""order_paid / order_refunded: sent once, only after the commit, every receiver run."""

from __future__ import annotations

import logging

import pytest
from django.db import transaction

from events.models import EventSeat
from orders.models import Order
from orders.signals import order_announce, order_paid, order_refunded
from orders.tests.conftest_payments import *  # noqa: F403
from orders.tests.factories import event_make, order_make
from payments.models import Payment
from payments.services import order_refund

pytestmark = pytest.mark.django_db


@pytest.fixture
def heard():
    """Orders each signal was sent for, by a receiver connected for the test."""
    calls: dict[str, list[int]] = {"paid": [], "refunded": []}

    def on_paid(sender, *, order, **kwargs):
        calls["paid"].append(order.pk)

    def on_refunded(sender, *, order, **kwargs):
        calls["refunded"].append(order.pk)

    order_paid.connect(on_paid, dispatch_uid="test.paid")
    order_refunded.connect(on_refunded, dispatch_uid="test.refunded")
    yield calls
    order_paid.disconnect(dispatch_uid="test.paid")
    order_refunded.disconnect(dispatch_uid="test.refunded")


def test_order_paid_is_sent_only_after_the_commit(
    heard, passes_completed, django_capture_on_commit_callbacks
):
    order = order_make(event=event_make(seats=2), seat_count=1)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        with transaction.atomic():
            order_announce(signal=order_paid, order=order)
        assert heard["paid"] == [] and passes_completed == []
    for callback in callbacks:
        callback()
    assert heard["paid"] == [order.pk]
    # The waiting room's receiver: the buyer's pass ends.
    assert passes_completed == [{"event_id": order.event_id, "buyer_key": order.buyer_key}]


def test_a_rolled_back_change_announces_nothing(heard, django_capture_on_commit_callbacks):
    order = order_make(event=event_make(seats=2), seat_count=1)
    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(RuntimeError), transaction.atomic():
            order_announce(signal=order_paid, order=order)
            raise RuntimeError("the payment failed after all")
    assert heard["paid"] == []


def test_a_failing_receiver_is_logged_and_the_others_still_run(
    heard, passes_completed, django_capture_on_commit_callbacks, caplog
):
    def broken(sender, **kwargs):
        raise ConnectionError("mail server down")

    order_paid.connect(broken, dispatch_uid="test.broken")
    order = order_make(event=event_make(seats=2), seat_count=1)
    try:
        with caplog.at_level(logging.ERROR, logger="orders.signals"):
            with django_capture_on_commit_callbacks(execute=True):
                order_announce(signal=order_paid, order=order)
    finally:
        order_paid.disconnect(dispatch_uid="test.broken")
    assert heard["paid"] == [order.pk] and len(passes_completed) == 1
    assert "mail server down" in caplog.text


def test_a_staff_refund_sends_order_refunded_once(
    heard, gateway_outbox, django_capture_on_commit_callbacks
):
    order = order_make(event=event_make(seats=2), seat_count=1)
    Order.objects.filter(pk=order.pk).update(status=Order.Status.PAID)
    Payment.objects.create(
        order=order, amount=order.total, currency=order.currency, status="succeeded"
    )
    EventSeat.objects.filter(pk__in=order.hold.seat_ids).update(status="sold", order_id=order.pk)
    with django_capture_on_commit_callbacks(execute=True):
        order_refund(order=order)
    assert heard == {"paid": [], "refunded": [order.pk]}
