from __future__ import annotations

import threading
import time
import uuid
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.db.models import Q
from django.test import Client
from django.utils import timezone

from events.models import EventSeat
from orders.models import Order
from orders.tests.conftest_payments import gateway_outbox  # noqa: F401
from orders.tests.factories import event_make, order_make, pay_with_card, post_callback, race
from payments.models import PaymentCallback
from payments.services import payment_start


def _race(body_for, racers: int) -> list[str]:
    """Post body_for(i) from `racers` threads at once; the callbacks' results."""
    return race(racers, lambda i: post_callback(Client(), body_for(i)).json()["result"])


@pytest.mark.django_db(transaction=True)
def test_parallel_duplicate_and_repeated_callbacks_sell_once(gateway_outbox):  # noqa: F811
    order = order_make(event=event_make(seats=4), seat_count=2)
    payment, _url = payment_start(order=order)
    assert pay_with_card(Client(), payment, "4400 4300 0000 0001").status_code == 303
    [body] = gateway_outbox.bodies()
    # Half repeat the same event (duplicates), half are distinct events for the same success.
    results = _race(lambda i: body if i % 2 else {**body, "event_id": f"evt_{i}"}, racers=30)
    assert results.count("paid") == 1
    assert set(results) <= {"paid", "duplicate", "ignored"}
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert order.tickets.count() == 2
    assert PaymentCallback.objects.filter(event_id=body["event_id"]).count() == 1


class _Lost(Exception):
    pass


def _take_expired_seats(seat_ids: list[int], hold_id) -> bool:
    """What a rival hold_create does: all-or-nothing on seats free or past held_until."""
    now = timezone.now()
    try:
        with transaction.atomic():
            taken = (
                EventSeat.objects.filter(pk__in=seat_ids)
                .filter(Q(status="available") | Q(status="held", held_until__lt=now))
                .update(status="held", hold_id=hold_id, held_until=now + timedelta(minutes=10))
            )
            if taken != len(seat_ids):
                raise _Lost
    except _Lost:
        return False
    return True


def _paid_at_the_gateway(event, outbox):
    """An order paid at the sandbox gateway whose success callback is not
    delivered yet: (order, callback body)."""
    order = order_make(event=event, seat_count=2)
    payment, _url = payment_start(order=order)
    outbox.clear()
    pay_with_card(Client(), payment, "4400 4300 0000 0001")
    [body] = outbox.bodies()
    return order, body


def _race_one_late_success(event, outbox, rival_delay: float) -> str:
    order, body = _paid_at_the_gateway(event, outbox)
    past = timezone.now() - timedelta(seconds=1)
    EventSeat.objects.filter(hold_id=order.hold_id).update(held_until=past)
    rival = uuid.uuid4()
    barrier = threading.Barrier(2)
    result = {}

    def pay():
        try:
            barrier.wait()
            result["callback"] = post_callback(Client(), body).json()["result"]
        finally:
            connection.close()

    def take():
        try:
            barrier.wait()
            time.sleep(rival_delay)  # vary who reaches the seats first
            result["rival"] = _take_expired_seats(order.hold.seat_ids, rival)
        finally:
            connection.close()

    threads = [threading.Thread(target=pay), threading.Thread(target=take)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    order.refresh_from_db()
    seats = list(EventSeat.objects.filter(pk__in=order.hold.seat_ids))
    if result["callback"] == "paid":
        assert result["rival"] is False
        assert {(s.status, s.order_id) for s in seats} == {("sold", order.pk)}
        assert order.tickets.count() == 2
    else:
        assert result == {"callback": "refunding", "rival": True}
        assert order.status == Order.Status.REFUNDED and not order.tickets.exists()
        assert {(s.status, s.hold_id, s.order_id) for s in seats} == {("held", rival, None)}
    return result["callback"]


@pytest.mark.django_db(transaction=True)
def test_late_success_racing_a_rival_hold_never_sells_twice(gateway_outbox):  # noqa: F811
    """Invariant 3 under a real race: the callback and a rival buyer both want expired seats."""
    event = event_make(seats=2 * 12)
    delays = [0.0, 0.005, 0.01, 0.02, 0.04, 0.08] * 2
    outcomes = [_race_one_late_success(event, gateway_outbox, delay) for delay in delays]
    print("late-success race outcomes:", {o: outcomes.count(o) for o in set(outcomes)})
    assert set(outcomes) <= {"paid", "refunding"}


@pytest.mark.django_db(transaction=True)
def test_parallel_payment_starts_extend_the_hold_once():
    from orders.models import Hold
    from ticketing.models import AuditEntry

    order = order_make(event=event_make(seats=2), seat_count=2, minutes=1)
    racers = 20
    barrier = threading.Barrier(racers)

    def start():
        try:
            barrier.wait()
            payment_start(order=order)
        finally:
            connection.close()

    threads = [threading.Thread(target=start) for _ in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    hold = Hold.objects.get(pk=order.hold_id)
    assert hold.extended and order.payments.count() == racers
    assert AuditEntry.objects.filter(action="hold.extended_for_payment").count() == 1
    order.refresh_from_db()
    assert order.expires_at == hold.expires_at


def _is_deadlock(exc: BaseException) -> bool:
    cause = getattr(exc, "__cause__", None)
    return getattr(cause, "sqlstate", None) == "40P01"


def _two_at_once(first, second) -> list[BaseException]:
    """Run both callables at the same instant in two threads; their exceptions."""
    results = race(2, lambda i: (first, second)[i]())
    return [r for r in results if isinstance(r, BaseException)]


@pytest.mark.django_db(transaction=True)
def test_cancel_racing_payment_start_never_deadlocks():
    """Both lock the hold before the order: one waits for the other, never a cycle."""
    from orders.exceptions import OrderNotCancellable
    from orders.services.orders import order_cancel
    from payments.exceptions import OrderNotPayable

    event = event_make(seats=2 * 16)
    for _ in range(16):
        order = order_make(event=event, seat_count=2)
        errors = _two_at_once(
            lambda order=order: payment_start(order=order),
            lambda order=order: order_cancel(order=order, actor="test"),
        )
        assert not [e for e in errors if _is_deadlock(e)], errors
        # The cancel always wins in the end (a started payment does not stop
        # it); a payment start that came second finds the order cancelled.
        assert all(isinstance(e, OrderNotPayable | OrderNotCancellable) for e in errors), errors
        order.refresh_from_db()
        assert order.status == Order.Status.CANCELLED
        assert not EventSeat.objects.filter(hold_id=order.hold_id, status="held").exists()


@pytest.mark.django_db(transaction=True)
def test_late_callback_racing_the_sweeper_never_deadlocks(gateway_outbox):  # noqa: F811
    """The sweeper expires holds (hold, then order) while a success callback
    for the same order arrives: one waits, the other settles, never a cycle;
    the seats end sold with tickets, or back on sale with the money refunded."""
    from orders.services.holds import holds_expire

    event = event_make(seats=2 * 12)
    outcomes = []
    for _ in range(12):
        order, body = _paid_at_the_gateway(event, gateway_outbox)
        past = timezone.now() - timedelta(seconds=1)
        Order.objects.filter(pk=order.pk).update(expires_at=past)
        order.hold.__class__.objects.filter(pk=order.hold_id).update(expires_at=past)
        result = {}
        errors = _two_at_once(
            lambda body=body, result=result: result.update(
                callback=post_callback(Client(), body).json()
            ),
            holds_expire,
        )
        assert not errors, errors
        outcomes.append(result["callback"]["result"])
        order.refresh_from_db()
        seats = EventSeat.objects.filter(pk__in=order.hold.seat_ids)
        if order.status == Order.Status.PAID:
            assert {s.status for s in seats} == {"sold"} and order.tickets.count() == 2
        else:
            assert order.status in (Order.Status.EXPIRED, Order.Status.REFUNDED)
            assert not order.tickets.exists()
    assert set(outcomes) <= {"paid", "refunding"}
