"""Builders for orders' tests: events (through events.factories), orders, buyers, races.

ORM-only builders for payment/ticket tests (order_make and friends) are
independent of hold_create/order_create on purpose.
"""

from __future__ import annotations

import json
import secrets
import threading
import uuid
from collections.abc import Sequence
from datetime import timedelta
from decimal import Decimal

from django.db import connection
from django.utils import timezone

from accounts.selectors import Buyer
from events.factories import event_build
from events.models import Event, EventSeat, PriceTier, SalePhase, Section, StandingArea
from orders.models import Hold, Order
from payments import sandbox

CALLBACK_URL = "/api/v1/payments/sandbox/callback/"


def make_event(
    *,
    rows: int = 4,
    per_row: int = 10,
    standing: int = 50,
    limit: int = 6,
    channels: Sequence[str] = ("web", "partner:*"),
    access_codes: Sequence[str] = (),
    requires_waiting_room: bool = False,
) -> Event:
    """Venue with one seated section (rows x per_row; row 1 is best, VIP at 25000, the
    rest Standard at 10000.50) and a standing area; one phase "General" open now.
    requires_waiting_room=True also puts a live waiting room in front of it."""
    event = event_build(
        seats=rows * per_row,
        per_row=per_row,
        standing=standing,
        front_price="25000.00",
        price="10000.50",
        per_buyer_limit=limit,
        channels=channels,
        access_codes=access_codes,
        requires_waiting_room=requires_waiting_room,
    )
    if requires_waiting_room:
        guard_with_waiting_room(event)
    return event


def guard_with_waiting_room(event):
    """Put a live waiting room (mode on, sale open) in front of the event's sales."""
    from events.selectors import sale_snapshot_forget
    from queueing.services import room_create, room_push

    SalePhase.objects.filter(event=event).update(requires_waiting_room=True)
    sale_snapshot_forget()  # a raw UPDATE fires no signal (admin saves do)
    room = room_create(event=event, sale_opens_at=timezone.now() - timedelta(hours=1))
    room_push(room=room)  # on_commit does not fire inside a test transaction
    return room


def seat_ids(event, *, row: int | None = None) -> list[int]:
    qs = EventSeat.objects.filter(event=event).order_by("seat__row_index", "seat__number")
    if row is not None:
        qs = qs.filter(seat__row_index=row)
    return list(qs.values_list("id", flat=True))


def web_buyer(name: str = "alice") -> Buyer:
    return Buyer(channel="web", key=f"device:{name}")


def race(n: int, work) -> list:
    """Run work(i) in n threads released at once; returns results (or exceptions)."""
    barrier = threading.Barrier(n)
    results: list = [None] * n

    def run(i: int) -> None:
        try:
            barrier.wait()
            results[i] = work(i)
        except Exception as exc:
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


def event_make(*, seats: int = 4, price: str = "10000.00", brands=(), bins=()) -> Event:
    """One row of `seats` seats at one price; a web/partner phase open since yesterday,
    optionally limited to card brands / BIN prefixes; no standing area."""
    return event_build(
        seats=seats,
        per_row=max(seats, 1),
        price=price,
        seat_spacing=10.0,
        card_brands=brands,
        card_bin_prefixes=bins,
        opened_ago=timedelta(days=1),
    )


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


def post_callback(client, body: dict, *, signature: str | None = None):
    """POST a sandbox callback, signed as the gateway signs it unless `signature` is given.

    The test plays the acquirer: a `succeeded` body it sends is a charge the
    acquirer made, so its books (the sandbox's) say so too, and a refund
    kassa then asks of it has money to return."""
    if body.get("status") == "succeeded":
        acquirer_charged(body)
    raw = json.dumps(body).encode()
    headers = {
        "HTTP_X_SANDBOX_SIGNATURE": signature if signature is not None else sandbox.sign(raw)
    }
    return client.post(CALLBACK_URL, data=raw, content_type="application/json", **headers)


def gateway_link(payment) -> str:
    """The sandbox gateway's payment link of `payment` (path and query), as the
    provider hands it to the buyer's browser."""
    from urllib.parse import urlsplit

    from payments.providers import provider_get

    url = urlsplit(provider_get("sandbox").create_payment(payment, payment.return_url))
    return f"{url.path}?{url.query}"


def callback_body(
    *, payment, status: str, event_id: str, card: dict | None = None, reason: str = ""
) -> dict:
    """A callback's body as the sandbox gateway writes it."""
    body = {
        "payment_id": str(payment.pk),
        "status": status,
        "amount": str(payment.amount),
        "currency": payment.currency,
        "card": card or {},
        "event_id": event_id,
    }
    if reason:
        body["reason"] = reason
    return body


def acquirer_charged(body: dict) -> None:
    """The sandbox acquirer's record of the charge a hand-made callback reports."""
    from payments.models import Payment
    from sandbox.models import SandboxCharge, SandboxPayment

    try:
        payment = Payment.objects.filter(pk=uuid.UUID(str(body.get("payment_id")))).first()
    except ValueError:
        return  # a malformed body: the callback's own test
    if payment is None:
        return
    books, _created = SandboxPayment.objects.get_or_create(
        pk=payment.pk,
        defaults={
            "merchant": "kassa",
            "amount": payment.amount,
            "currency": payment.currency,
            "return_url": payment.return_url,
            "callback_url": CALLBACK_URL,
        },
    )
    SandboxCharge.objects.get_or_create(
        payment=books, defaults={"status": "succeeded", "card": body.get("card") or {}}
    )


def pay_with_card(client, payment, number: str, *, json_client: bool = False, **extra):
    """Submit the sandbox gateway's card form for `payment` (through its link)."""
    fields = {
        "card_number": number,
        "exp_month": "12",
        "exp_year": "2099",
        "cvc": "123",
        "holder": "A TEST",
    }
    fields.update(extra)
    headers = {"HTTP_ACCEPT": "application/json"} if json_client else {}
    return client.post(gateway_link(payment), fields, **headers)
