from __future__ import annotations

import pytest

from events.models import StandingArea
from orders.models import Hold, Order
from orders.tests.conftest_payments import *  # noqa: F403
from orders.tests.factories import pay_with_card, post_callback, standing_order_make
from payments.services import payment_start

pytestmark = pytest.mark.django_db


def _pay(client, order, outbox, capture):
    payment, _url = payment_start(order=order)
    with capture(execute=True):
        pay_with_card(client, payment, "4400 4300 0000 0001")
    with capture(execute=True):
        return post_callback(client, outbox.bodies("succeeded")[0]).json()["result"]


def test_standing_places_move_from_held_to_sold(
    client, event, gateway_outbox, django_capture_on_commit_callbacks
):
    order, area = standing_order_make(event=event, quantity=3, capacity=10, held_by_others=2)
    assert _pay(client, order, gateway_outbox, django_capture_on_commit_callbacks) == "paid"
    area.refresh_from_db()
    assert (area.held, area.sold) == (2, 3)
    assert order.tickets.filter(standing_area=area).count() == 3


def test_expired_standing_hold_takes_fresh_capacity_if_any(
    client, event, gateway_outbox, django_capture_on_commit_callbacks
):
    order, area = standing_order_make(event=event, quantity=2, capacity=10)
    # The sweeper expired the hold and gave its places back.
    Hold.objects.filter(pk=order.hold_id).update(status=Hold.Status.EXPIRED)
    StandingArea.objects.filter(pk=area.pk).update(held=0)
    assert _pay(client, order, gateway_outbox, django_capture_on_commit_callbacks) == "paid"
    area.refresh_from_db()
    assert (area.held, area.sold) == (0, 2)


def test_expired_standing_hold_with_area_full_is_refunded(
    client, event, gateway_outbox, django_capture_on_commit_callbacks
):
    order, area = standing_order_make(event=event, quantity=2, capacity=10)
    Hold.objects.filter(pk=order.hold_id).update(status=Hold.Status.EXPIRED)
    StandingArea.objects.filter(pk=area.pk).update(held=3, sold=6)  # others took 9 of 10
    result = _pay(client, order, gateway_outbox, django_capture_on_commit_callbacks)
    assert result == "refunding"
    area.refresh_from_db()
    order.refresh_from_db()
    assert (area.held, area.sold) == (3, 6)
    assert order.status == Order.Status.REFUNDED and not order.tickets.exists()
    assert [b["status"] for b in gateway_outbox.bodies("refunded")] == ["refunded"]
