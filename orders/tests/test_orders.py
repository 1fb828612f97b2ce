from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from events.models import EventSeat, StandingArea
from orders.exceptions import (
    Forbidden,
    HoldExpired,
    HoldNotFound,
    LimitExceeded,
    OrderExists,
    OrderNotCancellable,
    ValidationFailed,
)
from orders.models import Hold, Order
from orders.services.holds import hold_create, holds_expire
from orders.services.orders import (
    CODE_ALPHABET,
    order_attach_guest_orders,
    order_cancel,
    order_create,
)
from orders.tasks import sweep_expired_holds
from orders.tests.factories import seat_ids, web_buyer
from ticketing.models import AuditEntry

CONTACT = {"email": "a@example.kz", "name": "Aigerim", "phone": "+7 701 234 5678"}


@pytest.fixture
def hold(event, buyer):
    return hold_create(event=event, buyer=buyer, seats=seat_ids(event)[:2])


def test_order_from_hold_awaits_payment_with_the_holds_expiry(hold, buyer):
    order = order_create(hold=hold, buyer=buyer, **CONTACT)
    hold.refresh_from_db()
    assert (order.status, hold.status) == ("pending_payment", "converted")
    assert order.expires_at == hold.expires_at
    assert (order.total, order.quantity) == (hold.total, 2)
    assert order.phone == "+77012345678"
    assert len(order.code) == 8 and set(order.code) <= set(CODE_ALPHABET)
    assert not set("01OIL") & set(CODE_ALPHABET)
    assert len(order.access_token) >= 40
    assert AuditEntry.objects.filter(action="order.created", object_id=str(order.pk)).exists()


def test_second_order_for_the_same_hold_is_refused(hold, buyer):
    first = order_create(hold=hold, buyer=buyer, **CONTACT)
    with pytest.raises(OrderExists) as err:
        order_create(hold=hold, buyer=buyer, **CONTACT)
    assert err.value.details == {"order": first.code}
    assert Order.objects.count() == 1


def test_order_needs_the_buyers_own_live_hold(hold, buyer):
    with pytest.raises(Forbidden):
        order_create(hold=hold, buyer=web_buyer("mallory"), **CONTACT)
    with pytest.raises(HoldNotFound):
        order_create(hold="not-a-uuid", buyer=buyer, **CONTACT)
    Hold.objects.filter(pk=hold.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(HoldExpired):
        order_create(hold=hold, buyer=buyer, **CONTACT)
    assert Order.objects.count() == 0


def test_bad_contact_details_name_each_field(hold, buyer):
    with pytest.raises(ValidationFailed) as err:
        order_create(hold=hold, buyer=buyer, email="nope", name=" ", phone="12")
    assert set(err.value.details) == {"email", "name", "phone"}
    hold.refresh_from_db()
    assert hold.status == "active"


def test_cancel_releases_stock_at_once(event, hold, buyer):
    order = order_create(hold=hold, buyer=buyer, **CONTACT)
    order_cancel(order=order, actor="buyer")
    order.refresh_from_db()
    hold.refresh_from_db()
    assert (order.status, hold.status) == ("cancelled", "released")
    assert EventSeat.objects.filter(id__in=hold.seat_ids, status="available").count() == 2
    with pytest.raises(OrderNotCancellable):
        order_cancel(order=order, actor="buyer")


def test_paid_order_cannot_be_cancelled(hold, buyer):
    order = order_create(hold=hold, buyer=buyer, **CONTACT)
    Order.objects.filter(pk=order.pk).update(status="paid")
    with pytest.raises(OrderNotCancellable):
        order_cancel(order=order, actor="buyer")


def test_order_expires_with_its_hold_and_stock_returns(event, buyer):
    area = StandingArea.objects.get(event=event)
    hold = hold_create(
        event=event, buyer=buyer, standing={"section": area.section_id, "quantity": 3}
    )
    order = order_create(hold=hold, buyer=buyer, **CONTACT)
    Hold.objects.filter(pk=hold.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert sweep_expired_holds() == 1
    order.refresh_from_db()
    hold.refresh_from_db()
    assert (order.status, hold.status) == ("expired", "expired")
    assert StandingArea.objects.get(pk=area.pk).held == 0


def test_sweeper_leaves_paid_orders_alone(hold, buyer):
    order = order_create(hold=hold, buyer=buyer, **CONTACT)
    Order.objects.filter(pk=order.pk).update(status="paid")
    Hold.objects.filter(pk=hold.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert holds_expire() == 0
    hold.refresh_from_db()
    assert hold.status == "converted"


def test_pending_and_paid_orders_count_against_the_limit(event, hold, buyer):
    order = order_create(hold=hold, buyer=buyer, **CONTACT)
    hold_create(event=event, buyer=buyer, seats=seat_ids(event)[2:4])
    Order.objects.filter(pk=order.pk).update(status="paid")
    with pytest.raises(LimitExceeded):
        hold_create(event=event, buyer=buyer, seats=seat_ids(event)[4:7])


def test_guest_orders_attach_to_a_verified_account(hold, buyer, event):
    order = order_create(hold=hold, buyer=buyer, **CONTACT)
    user = get_user_model().objects.create_user(username="aigerim", password="x" * 12)
    assert order_attach_guest_orders(user=user, email="A@example.kz") == 1
    order.refresh_from_db()
    assert order.user_id == user.pk
    assert order_attach_guest_orders(user=user, phone="+77012345678") == 0
    assert order_attach_guest_orders(user=user) == 0


def test_sweep_is_scheduled_on_beat(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["orders.sweep_expired_holds"]
    assert entry == {
        "task": "orders.tasks.sweep_expired_holds",
        "schedule": 15,
        "options": {"expires": 15},  # a late sweep is dropped: the next one covers it
    }
