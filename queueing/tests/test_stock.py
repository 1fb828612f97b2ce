"""The room's stock-tied admission against real holds (Postgres) and passes
(Redis): admission stops when the stock left cannot serve one more buyer, and
the room says sold_out only when not one ticket is left to sell.

Regression for the issue-9 on-sale run: the room declared sold_out at ~103 s
with 366 (another run: 621) places still available, because every shopper
inside still reserved `expected_tickets_per_buyer` on top of the seats their
holds had already taken out of the stock, including those who had paid,
cancelled or given up.
"""

from __future__ import annotations

import datetime as dt
import time

import pytest
from django.utils import timezone

from accounts.selectors import Buyer
from events.models import EventSeat
from orders.models import Hold
from orders.services.holds import hold_create
from queueing import selectors, services, state
from queueing.tests.factories import make_event, make_room

pytestmark = pytest.mark.django_db


def _buyer(i: int) -> Buyer:
    return Buyer(channel="web", key=f"device:{i}", user_id=None, partner_id=None)


def _open_room(*, seats: int, visitors: int, **fields):
    event = make_event(seats=seats)
    fields = {"admission_rate_per_minute": 600, "max_active_shoppers": 100,
              "expected_tickets_per_buyer": 2} | fields  # fmt: skip
    room = make_room(event, **fields)
    tokens = [
        services.queue_join(room_id=room.pk, visitor=_buyer(i).key).token for i in range(visitors)
    ]
    t0 = time.time()
    state.conn().hset(state.keys(room.pk)["st"], "last", t0)
    return event, room, tokens, t0


def _pass(token: str) -> str:
    status = selectors.queue_status(token=token)
    assert status["state"] == "admitted", status
    return status["pass"]


def _hold(event, i: int, token: str, quantity: int = 2) -> Hold:
    return hold_create(
        event=event,
        buyer=_buyer(i),
        best_available={"quantity": quantity},
        queue_pass=_pass(token),
    )


def test_shoppers_holding_seats_do_not_sell_the_room_out_early(db):
    event, room, tokens, t0 = _open_room(seats=20, visitors=30)
    services.room_tick(room=room, now=t0 + 1)
    st = state.read(room.pk)
    # 10 admitted (rate 10/s) x 2 expected tickets = the 20 seats: admission
    # holds; not "sold out" (nothing is sold yet, the admitted may not come).
    assert (st["serving"], st["sold_out"]) == ("10", "0")
    assert services.room_tick(room=room, now=t0 + 1.5)["admitted"] == "0"
    assert selectors.queue_status(token=tokens[20])["state"] == "waiting"

    holds = [_hold(event, i, tokens[i]) for i in range(6)]  # 12 seats held
    for i in (6, 7, 8):  # tried, found nothing they liked, left (pass still valid)
        selectors.pass_validate(event_id=event.pk, buyer_key=_buyer(i).key, token=_pass(tokens[i]))
    paid = _hold(event, 9, tokens[9])  # bought 2 and paid
    EventSeat.objects.filter(hold_id=paid.pk).update(status="sold")
    services.pass_complete(event_id=event.pk, buyer_key=_buyer(9).key)
    assert selectors.stock_remaining(event_id=event.pk) == 6
    cnt = state.counters(room.pk)
    assert (cnt["active"], cnt["pending"], cnt["completed"]) == (9, 0, 1)

    # 6 seats left and nobody admitted still on the way: 3 more buyers. (The
    # old rule reserved 9 shoppers x 2 on top of their holds: admitted nobody.)
    result = services.room_tick(room=room, now=t0 + 2)
    assert result["admitted"] == "3"
    assert selectors.queue_status(token=tokens[12])["state"] == "admitted"
    st = state.read(room.pk)
    assert (st["serving"], st["left"], st["sold_out"]) == ("13", "6", "0")

    # Holds expire (the shoppers walked away): the stock is back, and so is
    # admission, without anybody touching the room.
    Hold.objects.filter(pk__in=[h.pk for h in holds]).update(
        expires_at=timezone.now() - dt.timedelta(seconds=1)
    )
    EventSeat.objects.filter(hold_id__in=[h.pk for h in holds]).update(
        held_until=timezone.now() - dt.timedelta(seconds=1)
    )
    result = services.room_tick(room=room, now=t0 + 3)
    # 18 sellable, the 3 just admitted expect 6: 12 left = 6 more buyers.
    assert result["admitted"] == "6"
    assert state.read(room.pk)["serving"] == "19"


def test_the_last_ticket_still_admits_one_more_buyer(db):
    # 3 seats at 2.5 expected per buyer: 2 buyers (one of them may want 1), not 1.
    _event, room, _tokens, t0 = _open_room(seats=3, visitors=10, expected_tickets_per_buyer="2.5")
    services.room_tick(room=room, now=t0 + 1)
    assert state.read(room.pk)["serving"] == "2"


def test_no_stock_at_all_is_sold_out(db):
    event, room, tokens, t0 = _open_room(seats=4, visitors=5)
    EventSeat.objects.filter(event=event).update(status="sold")
    result = services.room_tick(room=room, now=t0 + 1)
    assert result["admitted"] == "0"
    assert selectors.room_public_state(room_id=room.pk)["state"] == "sold_out"
    EventSeat.objects.filter(event=event).update(status="available")  # a refund, say
    services.room_tick(room=room, now=t0 + 2)
    assert state.read(room.pk)["serving"] == "2"
    assert selectors.queue_status(token=tokens[0])["state"] == "admitted"


def test_expired_and_completed_passes_free_their_shop_slots(db):
    event, room, tokens, t0 = _open_room(
        seats=100, visitors=10, max_active_shoppers=3, pass_minutes=1
    )
    services.room_tick(room=room, now=t0 + 1)
    for i in range(3):
        _hold(event, i, tokens[i], quantity=1)
    assert state.counters(room.pk)["active"] == 3
    assert services.room_tick(room=room, now=t0 + 2)["admitted"] == "0"  # the shop is full

    services.pass_complete(event_id=event.pk, buyer_key=_buyer(0).key)  # paid
    assert services.room_tick(room=room, now=t0 + 3)["admitted"] == "1"

    # The other two passes expire (pass_minutes=1): dropped from the shop, so
    # their slots go to the next visitors (one is taken by number 4, pending).
    result = services.room_tick(room=room, now=t0 + 65)
    assert result["admitted"] == "2"
    cnt = state.counters(room.pk)
    assert (cnt["active"], cnt["pending"]) == (0, 3)
