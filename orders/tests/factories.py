"""ORM-only builders for payment/ticket tests (independent of hold_create/order_create)."""

from __future__ import annotations

import secrets
import uuid
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from events.models import (
    Event,
    EventSeat,
    PriceTier,
    SalePhase,
    Seat,
    Section,
    StandingArea,
    Venue,
)
from orders.models import Hold, Order


def event_make(*, seats: int = 4, price: str = "10000.00", brands=(), bins=()) -> Event:
    tag = uuid.uuid4().hex[:8]
    venue = Venue.objects.create(name="Arena " + tag, slug="arena-" + tag)
    section = Section.objects.create(venue=venue, code="A", name="Sector A")
    event = Event.objects.create(
        venue=venue,
        title="Concert " + tag,
        slug="concert-" + tag,
        starts_at=timezone.now() + timedelta(days=30),
        status="on_sale",
    )
    tier = PriceTier.objects.create(event=event, name="Standard", price=Decimal(price))
    now = timezone.now()
    SalePhase.objects.create(
        event=event,
        name="General",
        starts_at=now - timedelta(days=1),
        ends_at=now + timedelta(days=1),
        channels=["web", "partner:*"],
        card_brands=list(brands),
        card_bin_prefixes=list(bins),
    )
    for number in range(1, seats + 1):
        seat = Seat.objects.create(
            section=section, row_label="1", row_index=1, number=number, x=number * 10.0, y=10.0
        )
        EventSeat.objects.create(event=event, seat=seat, section=section, tier=tier)
    return event


def order_make(
    *, event: Event, seat_count: int = 2, minutes: int = 10, email: str = "buyer@example.com"
) -> Order:
    """A converted hold owning `seat_count` available seats, and its unpaid order."""
    seats = list(
        EventSeat.objects.filter(event=event, status="available").order_by("id")[:seat_count]
    )
    assert len(seats) == seat_count
    tier = seats[0].tier
    now = timezone.now()
    expires = now + timedelta(minutes=minutes)
    total = tier.price * seat_count
    hold = Hold.objects.create(
        event=event,
        phase=event.phases.first(),
        buyer_key="device:" + uuid.uuid4().hex,
        channel="web",
        status=Hold.Status.CONVERTED,
        seat_ids=[s.pk for s in seats],
        quantity=seat_count,
        total=total,
        currency=event.currency,
        expires_at=expires,
        created_at=now,
    )
    EventSeat.objects.filter(pk__in=hold.seat_ids).update(
        status="held", hold_id=hold.pk, held_until=expires
    )
    return Order.objects.create(
        code=secrets.token_hex(4).upper(),
        access_token=secrets.token_urlsafe(24),
        event=event,
        phase=hold.phase,
        hold=hold,
        buyer_key=hold.buyer_key,
        channel="web",
        email=email,
        name="Aigerim",
        quantity=seat_count,
        total=total,
        currency=event.currency,
        expires_at=expires,
    )


def order_expire_and_resell(order: Order) -> Hold:
    """The order's time ran out and another buyer's hold took its seats."""
    past = timezone.now() - timedelta(minutes=1)
    Hold.objects.filter(pk=order.hold_id).update(expires_at=past)
    Order.objects.filter(pk=order.pk).update(expires_at=past)
    other = Hold.objects.create(
        event=order.event,
        phase=order.phase,
        buyer_key="device:other",
        channel="web",
        seat_ids=list(order.hold.seat_ids),
        quantity=order.quantity,
        total=order.total,
        currency=order.currency,
        expires_at=timezone.now() + timedelta(minutes=10),
    )
    taken = EventSeat.objects.filter(pk__in=other.seat_ids).update(
        hold_id=other.pk, held_until=other.expires_at, status="held"
    )
    assert taken == len(other.seat_ids)
    return other


def standing_order_make(*, event: Event, quantity: int, capacity: int, held_by_others: int = 0):
    """An unpaid order for `quantity` standing places of a fresh standing area."""
    from orders.models import HoldStanding

    section = Section.objects.create(
        venue=event.venue, code="FAN", name="Fan zone", kind="standing", capacity=capacity
    )
    tier = PriceTier.objects.create(event=event, name="Fan", price=Decimal("5000.00"))
    area = StandingArea.objects.create(
        event=event, section=section, tier=tier, capacity=capacity, held=quantity + held_by_others
    )
    now = timezone.now()
    expires = now + timedelta(minutes=10)
    hold = Hold.objects.create(
        event=event,
        phase=event.phases.first(),
        buyer_key="device:" + uuid.uuid4().hex,
        channel="web",
        status=Hold.Status.CONVERTED,
        seat_ids=[],
        quantity=quantity,
        total=tier.price * quantity,
        currency=event.currency,
        expires_at=expires,
    )
    HoldStanding.objects.create(hold=hold, area=area, quantity=quantity)
    order = Order.objects.create(
        code=secrets.token_hex(4).upper(),
        access_token=secrets.token_urlsafe(24),
        event=event,
        phase=hold.phase,
        hold=hold,
        buyer_key=hold.buyer_key,
        channel="web",
        email="fan@example.com",
        name="Fan",
        quantity=quantity,
        total=hold.total,
        currency=event.currency,
        expires_at=expires,
    )
    return order, area
