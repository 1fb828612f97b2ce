"""The audit must see each kind of violation: made by hand, straight in the tables."""

from __future__ import annotations

import itertools
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from bench.audit import audit, stock
from events.factories import event_build
from events.models import Event, EventSeat, StandingArea
from orders.models import Hold, Order, Ticket

_codes = itertools.count(1)


@pytest.fixture
def sale(db):
    event = event_build(
        seats=4,
        per_row=4,
        standing=2,
        section_name="A",
        standing_name="Floor",
        tier_name="Std",
        price="5000.00",
        slug="show",
        title="Show",
        status=Event.Status.DRAFT,
        starts_in=timedelta(days=9),
        opened_ago=timedelta(0),
    )
    seats = list(EventSeat.objects.filter(event=event).order_by("seat__number"))
    return {
        "event": event,
        "tier": event.tiers.get(),
        "phase": event.phases.get(),
        "seats": seats,
        "area": event.standing_areas.get(),
    }


def _order(sale, *, status="paid", quantity=1):
    now = timezone.now()
    common = {
        "event": sale["event"],
        "phase": sale["phase"],
        "buyer_key": "device:x",
        "channel": "web",
        "quantity": quantity,
        "total": Decimal("5000.00") * quantity,
        "currency": "KZT",
        "expires_at": now + timedelta(minutes=10),
    }
    hold = Hold.objects.create(status="converted", **common)
    n = next(_codes)
    return Order.objects.create(
        code=f"C{n}",
        access_token=f"t{n}",
        hold=hold,
        email="a@b.kz",
        name="A",
        status=status,
        **common,
    )


def _ticket(sale, order, *, seat=None, area=None, status="valid"):
    return Ticket.objects.create(
        order=order,
        event=sale["event"],
        event_seat=seat,
        standing_area=area,
        tier=sale["tier"],
        price=Decimal("5000.00"),
        code=f"tk{next(_codes)}",
        status=status,
    )


def _sell(sale, seat, order):
    seat.status = "sold"
    seat.order_id = order.id
    seat.save(update_fields=["status", "order_id"])
    return _ticket(sale, order, seat=seat)


def _audit(sale):
    with connection.cursor() as cursor:
        return audit(cursor, event_id=sale["event"].id)


def _only(result, name, count=1):
    assert result[name] == count, result
    assert all(v == 0 for k, v in result.items() if k != name), result


def test_a_clean_sale_audits_to_zero_everywhere(sale):
    order = _order(sale, quantity=3)
    _sell(sale, sale["seats"][0], order)
    _sell(sale, sale["seats"][1], order)
    _ticket(sale, order, area=sale["area"])
    StandingArea.objects.filter(pk=sale["area"].pk).update(sold=1)
    _ticket(sale, _order(sale, status="cancelled"), seat=sale["seats"][2], status="void")
    result = _audit(sale)
    assert result and all(v == 0 for v in result.values()), result
    with connection.cursor() as cursor:
        counts = stock(cursor, event_id=sale["event"].id)
    assert counts == {"sold": 3, "held": 0, "available": 3, "paid_orders": 1}


def test_a_ticket_for_a_seat_not_marked_sold_is_oversold(sale):
    _ticket(sale, _order(sale), seat=sale["seats"][0])
    _only(_audit(sale), "oversold_seats")


def test_a_seat_in_two_valid_tickets_is_found(sale):
    with connection.cursor() as cursor:
        # The partial unique index forbids it; the audit must not rely on it.
        cursor.execute("DROP INDEX ticket_one_valid_per_seat")
    _sell(sale, sale["seats"][0], _order(sale))
    _ticket(sale, _order(sale), seat=sale["seats"][0])
    _only(_audit(sale), "seats_in_two_valid_tickets")


def test_a_sold_seat_without_a_ticket_is_found(sale):
    EventSeat.objects.filter(pk=sale["seats"][3].pk).update(status="sold")
    _only(_audit(sale), "sold_seats_without_ticket")


def test_more_standing_tickets_than_places_is_over_capacity(sale):
    order = _order(sale, quantity=3)
    for _ in range(3):
        _ticket(sale, order, area=sale["area"])
    StandingArea.objects.filter(pk=sale["area"].pk).update(sold=2)
    _only(_audit(sale), "standing_over_capacity")


def test_standing_counters_past_capacity_are_over_capacity(sale):
    with connection.cursor() as cursor:
        # Deferred foreign-key checks of the fixture's rows would block the ALTER.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("ALTER TABLE events_standingarea DROP CONSTRAINT standing_within_capacity")
    StandingArea.objects.filter(pk=sale["area"].pk).update(held=2, sold=1)
    _only(_audit(sale), "standing_over_capacity")


def test_a_paid_order_missing_tickets_is_found(sale):
    order = _order(sale, quantity=2)
    _sell(sale, sale["seats"][0], order)
    _only(_audit(sale), "paid_orders_without_tickets")


def test_a_valid_ticket_of_an_unpaid_order_is_found(sale):
    _sell(sale, sale["seats"][0], _order(sale, status="pending_payment"))
    _only(_audit(sale), "tickets_without_paid_orders")


def test_audit_is_scoped_to_the_event(sale):
    _ticket(sale, _order(sale), seat=sale["seats"][0])
    with connection.cursor() as cursor:
        assert audit(cursor, event_id=sale["event"].id + 1000)["oversold_seats"] == 0
        assert audit(cursor)["oversold_seats"] == 1
