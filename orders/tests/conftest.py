"""A tiny on-sale built straight from the events models (no catalogue services needed)."""

from __future__ import annotations

import itertools
import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from accounts.selectors import Buyer
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

_counter = itertools.count()


def make_event(*, rows: int = 4, per_row: int = 10, standing: int = 50, limit: int = 6, **phase):
    """Venue with one seated section (rows x per_row; row 1 is best) and one standing area."""
    n = next(_counter)
    now = timezone.now()
    venue = Venue.objects.create(name=f"Arena {n}", slug=f"arena-{n}")
    seated = Section.objects.create(venue=venue, code="A", name="Sector A")
    floor = Section.objects.create(
        venue=venue, code="F", name="Fan zone", kind=Section.Kind.STANDING, capacity=standing
    )
    event = Event.objects.create(
        venue=venue, title=f"Concert {n}", slug=f"concert-{n}",
        starts_at=now + timedelta(days=30), status=Event.Status.ON_SALE,
    )  # fmt: skip
    vip = PriceTier.objects.create(event=event, name="VIP", price=Decimal("25000.00"))
    cheap = PriceTier.objects.create(event=event, name="Standard", price=Decimal("10000.50"))
    seats = Seat.objects.bulk_create(
        [
            Seat(
                section=seated,
                row_label=str(r),
                row_index=r,
                number=s,
                x=s,
                y=r,
                quality_rank=r * 100 + abs(per_row // 2 - s),
            )
            for r in range(1, rows + 1)
            for s in range(1, per_row + 1)
        ]
    )
    EventSeat.objects.bulk_create(
        [
            EventSeat(
                event=event, seat=seat, section=seated, tier=vip if seat.row_index == 1 else cheap
            )
            for seat in seats
        ]
    )
    StandingArea.objects.create(event=event, section=floor, tier=cheap, capacity=standing)
    SalePhase.objects.create(
        event=event, name="General", starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(days=1), channels=phase.pop("channels", ["web", "partner:*"]),
        per_buyer_limit=limit, **phase,
    )  # fmt: skip
    if phase.get("requires_waiting_room"):
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


@pytest.fixture
def event(db):
    return make_event()


@pytest.fixture
def buyer():
    return web_buyer()


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
