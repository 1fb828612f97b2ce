"""Settlement rules any provider's callback obeys (issue 15, items 4 and 9).

The per-buyer limit when a late payment revives an expired order, money taken
with the wrong amount after a decline, a refund the provider made on its own,
the phase's card rule checked on the reported card, and a refund after
check-in. Real Postgres; the limit race runs in real threads.
"""

from __future__ import annotations

import threading
import time
import uuid
from contextlib import nullcontext
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from events.models import EventSeat, StandingArea
from orders.exceptions import LimitExceeded, SeatUnavailable
from orders.models import Hold, Order, Ticket
from orders.services.holds import hold_create, holds_expire
from orders.services.orders import order_create
from orders.tests.conftest_payments import *  # noqa: F403
from orders.tests.factories import (
    acquirer_charged,
    event_make,
    make_event,
    order_make,
    pay_with_card,
    post_callback,
    seat_ids,
    standing_order_make,
    web_buyer,
)
from orders.tickets import ticket_checkin, tickets_issue
from payments.models import Payment
from payments.services import order_refund, payment_start
from ticketing.models import AuditEntry

PARTNER_VISA = "4400 4300 0000 0001"

pytestmark = pytest.mark.django_db


def _buy(event, buyer, what) -> Order:
    """`what`: seat ids, or a number of standing places on the fan zone."""
    if isinstance(what, int):
        hold = hold_create(event=event, buyer=buyer, standing={"section": "F", "quantity": what})
    else:
        hold = hold_create(event=event, buyer=buyer, seats=what)
    return order_create(hold=hold, buyer=buyer, email="b@example.com", name="B")


def _charged(order, outbox, capture=None) -> dict:
    """Paid at the gateway; the success callback is returned, not delivered.

    `capture` (django_capture_on_commit_callbacks) when the test runs inside
    a transaction: the gateway queues the callback on commit."""
    payment, _url = payment_start(order=order)
    outbox.clear()
    with capture(execute=True) if capture else nullcontext():
        assert pay_with_card(Client(), payment, PARTNER_VISA).status_code == 303
    [body] = outbox.bodies("succeeded")
    return body


def _expire(order, *, sweep: bool) -> None:
    """The order's time runs out; with `sweep` the sweeper has also tidied it
    (seats go back on sale; standing places too, but a late payment may take
    them again from free capacity). Without it the seats are still the hold's."""
    past = timezone.now() - timedelta(seconds=1)
    Hold.objects.filter(pk=order.hold_id).update(expires_at=past)
    Order.objects.filter(pk=order.pk).update(expires_at=past)
    EventSeat.objects.filter(hold_id=order.hold_id).update(held_until=past)
    if sweep:
        holds_expire()


def _paid_tickets(event, buyer) -> int:
    return sum(
        Order.objects.filter(
            event=event, buyer_key=buyer.key, status=Order.Status.PAID
        ).values_list("quantity", flat=True)
    )


# --- item 4: the per-buyer limit survives a late payment ------------------------

# Both ways a late payment could revive an expired order: standing places
# after the sweep (taken again from free capacity), seats before it.
KINDS = [
    pytest.param(lambda event, n: 6, True, id="standing-swept"),
    pytest.param(lambda event, n: seat_ids(event, row=n)[:6], False, id="seats-unswept"),
]


@pytest.mark.parametrize(("stock", "sweep"), KINDS)
def test_late_payment_of_an_expired_order_past_the_limit_is_refunded(
    gateway_outbox, django_capture_on_commit_callbacks, stock, sweep
):
    """Expired order A stopped counting; the buyer bought the limit again (B);
    A's late success must not revive it (it made 12 paid tickets on a cap of 6)."""
    event = make_event(limit=6)
    buyer = web_buyer("greedy")
    first = _buy(event, buyer, stock(event, 1))
    late = _charged(first, gateway_outbox, django_capture_on_commit_callbacks)
    _expire(first, sweep=sweep)

    second = _buy(event, buyer, stock(event, 2))
    with django_capture_on_commit_callbacks(execute=True):
        assert post_callback(
            Client(), _charged(second, gateway_outbox, django_capture_on_commit_callbacks)
        ).json() == {"result": "paid"}
    with django_capture_on_commit_callbacks(execute=True):
        assert post_callback(Client(), late).json() == {"result": "refunding"}

    first.refresh_from_db()
    assert first.status == Order.Status.REFUNDED and not first.tickets.exists()
    assert _paid_tickets(event, buyer) == 6
    assert [b["payment_id"] for b in gateway_outbox.bodies("refunded")] == [late["payment_id"]]
    assert AuditEntry.objects.filter(
        action="order.refunded", object_id=str(first.pk), data__reason="limit_exceeded"
    ).exists()
    # Its stock went back on sale, not to the buyer.
    area = StandingArea.objects.get(event=event)
    assert area.held + area.sold == (6 if sweep else 0)
    assert EventSeat.objects.filter(event=event, status="sold").count() == (0 if sweep else 6)


@pytest.mark.parametrize(("stock", "sweep"), KINDS)
def test_late_payment_within_the_limit_still_revives_the_order(
    gateway_outbox, django_capture_on_commit_callbacks, stock, sweep
):
    event = make_event(limit=10)
    buyer = web_buyer("patient")
    first = _buy(event, buyer, stock(event, 1))
    late = _charged(first, gateway_outbox, django_capture_on_commit_callbacks)
    _expire(first, sweep=sweep)
    _buy(event, buyer, seat_ids(event, row=3)[:4])  # 6 + 4 = 10: still allowed
    with django_capture_on_commit_callbacks(execute=True):
        assert post_callback(Client(), late).json() == {"result": "paid"}
    assert _paid_tickets(event, buyer) == 6


@pytest.mark.django_db(transaction=True)
def test_late_payment_racing_a_new_hold_of_the_same_buyer_keeps_the_limit(gateway_outbox):
    """The revival and a fresh hold of the same buyer, at the same instant: the
    buyer's lock orders them, so exactly one of the two gets the tickets."""
    delays = [0.0, 0.01, 0.02, 0.05, 0.1, 0.2]  # vary who takes the buyer's lock first
    event = make_event(limit=6, standing=12 * len(delays))
    outcomes = []
    for index, delay in enumerate(delays):
        buyer = web_buyer(f"racer-{index}")
        first = _buy(event, buyer, 6)
        late = _charged(first, gateway_outbox)
        _expire(first, sweep=True)
        barrier = threading.Barrier(2)
        result: dict = {}

        def pay(late=late, result=result, barrier=barrier):
            try:
                barrier.wait()
                result["callback"] = post_callback(Client(), late).json()["result"]
            finally:
                connection.close()

        def hold(buyer=buyer, result=result, barrier=barrier, delay=delay):
            try:
                barrier.wait()
                time.sleep(delay)
                hold_create(event=event, buyer=buyer, standing={"section": "F", "quantity": 6})
                result["hold"] = "created"
            except LimitExceeded:
                result["hold"] = "limit"
            finally:
                connection.close()

        threads = [threading.Thread(target=pay), threading.Thread(target=hold)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert result in (
            {"callback": "paid", "hold": "limit"},
            {"callback": "refunding", "hold": "created"},
        ), result
        held = Hold.objects.filter(
            event=event, buyer_key=buyer.key, status=Hold.Status.ACTIVE
        ).count()
        assert _paid_tickets(event, buyer) + 6 * held == 6
        outcomes.append(result["callback"])
    print("revival race outcomes:", {o: outcomes.count(o) for o in set(outcomes)})


# --- item 9: money from the provider --------------------------------------------


def test_wrong_amount_success_after_a_decline_is_refunded(
    client, order, gateway_outbox, django_capture_on_commit_callbacks
):
    payment, _url = payment_start(order=order)
    base = {
        "payment_id": str(payment.pk),
        "amount": str(payment.amount),
        "currency": payment.currency,
        "card": {"brand": "visa", "bin": "440043", "last4": "0001"},
    }
    failed = {**base, "status": "failed", "reason": "decline", "event_id": "evt_failed"}
    assert post_callback(client, failed).json() == {"result": "failed"}
    cheap = {**base, "status": "succeeded", "amount": "1.00", "event_id": "evt_cheap"}
    with django_capture_on_commit_callbacks(execute=True):
        assert post_callback(client, cheap).json() == {"result": "mismatch"}
    payment.refresh_from_db()
    assert payment.status == Payment.Status.REFUND_PENDING
    [refund] = gateway_outbox.bodies("refunded")
    assert refund["payment_id"] == str(payment.pk)
    assert post_callback(client, refund).json() == {"result": "refunded"}
    payment.refresh_from_db()
    order.refresh_from_db()
    assert payment.status == Payment.Status.REFUNDED
    assert order.status == Order.Status.PENDING_PAYMENT and not order.tickets.exists()
    assert AuditEntry.objects.filter(
        action="payment.refund_requested", data__reason="amount_mismatch"
    ).exists()


def test_a_refund_made_by_the_provider_refunds_the_order_and_voids_its_tickets(
    client, order, gateway_outbox, django_capture_on_commit_callbacks
):
    success = _charged(order, gateway_outbox, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        assert post_callback(client, success).json() == {"result": "paid"}
    refunded = {**success, "status": "refunded", "event_id": "evt_dispute"}
    assert post_callback(client, refunded).json() == {"result": "refunded"}
    order.refresh_from_db()
    assert order.status == Order.Status.REFUNDED
    assert set(order.tickets.values_list("status", flat=True)) == {Ticket.Status.VOID}
    seats = EventSeat.objects.filter(pk__in=order.hold.seat_ids)
    assert {(s.status, s.order_id) for s in seats} == {("available", None)}
    assert Payment.objects.get(pk=success["payment_id"]).status == Payment.Status.REFUNDED
    assert AuditEntry.objects.filter(
        action="order.refunded", object_id=str(order.pk), data__reason="provider_refund"
    ).exists()
    # The provider already returned the money: no second refund is asked for.
    assert gateway_outbox.bodies("refunded") == []


def test_a_provider_refund_of_a_standing_order_returns_its_places(
    client, gateway_outbox, django_capture_on_commit_callbacks
):
    order, area = standing_order_make(event=event_make(seats=0), quantity=3, capacity=10)
    success = _charged(order, gateway_outbox, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        assert post_callback(client, success).json() == {"result": "paid"}
    area.refresh_from_db()
    assert (area.held, area.sold) == (0, 3)
    post_callback(client, {**success, "status": "refunded", "event_id": "evt_chargeback"})
    area.refresh_from_db()
    assert (area.held, area.sold) == (0, 0)


@pytest.mark.parametrize(
    ("card", "allowed"),
    [
        ({"brand": "mastercard", "bin": "555555", "last4": "4444"}, False),
        ({"brand": "visa", "bin": "411111", "last4": "1111"}, False),
        ({"brand": "", "bin": "", "last4": ""}, False),  # a provider that says nothing
        ({"brand": "VISA", "bin": "440043", "last4": "0001"}, True),
    ],
)
def test_the_phase_card_rule_is_checked_on_the_card_any_provider_reports(
    client, gateway_outbox, django_capture_on_commit_callbacks, card, allowed
):
    """A provider that does not know the rule (not the sandbox form) reports
    the card it charged: a card outside the rule is refunded, never sold."""
    order = order_make(event=event_make(seats=2, brands=["visa"], bins=["440043"]), seat_count=1)
    payment, _url = payment_start(order=order)
    body = {
        "payment_id": str(payment.pk),
        "status": "succeeded",
        "amount": str(payment.amount),
        "currency": payment.currency,
        "card": card,
        "event_id": "evt_" + uuid.uuid4().hex,
    }
    with django_capture_on_commit_callbacks(execute=True):
        result = post_callback(client, body).json()["result"]
    order.refresh_from_db()
    payment.refresh_from_db()
    if allowed:
        assert result == "paid" and order.status == Order.Status.PAID
        return
    assert result == "refunding"
    assert payment.status == Payment.Status.REFUND_PENDING
    # The hold is untouched: the buyer may still pay with an allowed card.
    assert order.status == Order.Status.PENDING_PAYMENT and not order.tickets.exists()
    assert [b["payment_id"] for b in gateway_outbox.bodies("refunded")] == [str(payment.pk)]
    assert AuditEntry.objects.filter(
        action="payment.refund_requested", data__reason="card_rule"
    ).exists()


def test_a_refund_after_check_in_never_puts_the_used_seat_back_on_sale(
    gateway_outbox, django_capture_on_commit_callbacks
):
    """Decided: refund the money, but a seat whose ticket was used stays sold
    (the person is in it); the unused seat goes back on sale."""
    order = order_make(event=event_make(seats=2), seat_count=2)
    Order.objects.filter(pk=order.pk).update(status=Order.Status.PAID)
    payment = Payment.objects.create(
        order=order, amount=order.total, currency=order.currency, status="succeeded"
    )
    acquirer_charged({"payment_id": str(payment.pk)})
    EventSeat.objects.filter(pk__in=order.hold.seat_ids).update(status="sold", order_id=order.pk)
    used, unused = tickets_issue(order=order, hold=order.hold)
    assert ticket_checkin(scanned=used.code)[0] == "ok"

    with django_capture_on_commit_callbacks(execute=True):
        order_refund(order=order)
    order.refresh_from_db()
    used.refresh_from_db()
    unused.refresh_from_db()
    assert order.status == Order.Status.REFUNDED
    assert (used.status, unused.status) == (Ticket.Status.USED, Ticket.Status.VOID)
    assert EventSeat.objects.get(pk=used.event_seat_id).status == "sold"
    assert EventSeat.objects.get(pk=unused.event_seat_id).status == "available"
    assert len(gateway_outbox.bodies("refunded")) == 1
    entry = AuditEntry.objects.get(action="order.refunded", object_id=str(order.pk))
    assert (entry.data["tickets_used"], entry.data["tickets_voided"]) == (1, 1)
    # Nobody can hold the used seat again.
    with pytest.raises(SeatUnavailable):
        hold_create(event=order.event, buyer=web_buyer("next"), seats=[used.event_seat_id])


def test_a_standing_refund_after_check_in_keeps_the_used_places_sold(
    gateway_outbox, django_capture_on_commit_callbacks
):
    order, area = standing_order_make(event=event_make(seats=0), quantity=3, capacity=10)
    StandingArea.objects.filter(pk=area.pk).update(held=0, sold=3)
    Order.objects.filter(pk=order.pk).update(status=Order.Status.PAID)
    tickets = tickets_issue(order=order, hold=order.hold)
    assert ticket_checkin(scanned=tickets[0].code)[0] == "ok"
    with django_capture_on_commit_callbacks(execute=True):
        order_refund(order=order)
    area.refresh_from_db()
    assert area.sold == 1
