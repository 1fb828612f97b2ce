"""Mode auto (issue 15, item 5): only an admitted pass, or stock really
taken, makes an active shopper; a refused hold changes no queue state."""

from __future__ import annotations

import pytest

from accounts.selectors import Buyer
from events.models import EventSeat
from orders.exceptions import ValidationFailed
from orders.services.holds import hold_create
from queueing import services, state
from queueing.exceptions import PassRequired
from queueing.models import WaitingRoom
from queueing.tests.factories import make_event, make_room

pytestmark = pytest.mark.django_db


def _buyer(key: str) -> Buyer:
    return Buyer(channel="web", key=key)


def _seat_ids(event) -> list[int]:
    return list(EventSeat.objects.filter(event=event).order_by("pk").values_list("pk", flat=True))


def _refused_hold(event, key: str) -> None:
    with pytest.raises(ValidationFailed):
        hold_create(event=event, buyer=_buyer(key), seats=[10**9])  # no such seat


def test_refused_holds_do_not_wake_the_room_nor_let_anyone_past_it(db):
    event = make_event(seats=10)
    room = make_room(event, mode=WaitingRoom.Mode.AUTO, auto_threshold=2)
    for _ in range(4):
        for i in range(5):
            _refused_hold(event, f"device:{i}")
    assert state.counters(room.pk)["active"] == 0  # nobody became a shopper
    services.room_tick(room=room)
    assert state.read(room.pk)["guard"] == "0"  # refused holds never wake the room

    seats = _seat_ids(event)
    for i in range(3):  # three real shoppers: over the threshold of 2
        hold_create(event=event, buyer=_buyer(f"user:{i}"), seats=[seats[i]])
    services.room_tick(room=room)
    assert state.read(room.pk)["guard"] == "1"
    # Awake: the devices that tried before buy nothing without a pass, like a fresh visitor.
    for key in ("device:0", "device:4", "device:fresh"):
        with pytest.raises(PassRequired):
            hold_create(event=event, buyer=_buyer(key), seats=[seats[5]])
    assert EventSeat.objects.get(pk=seats[5]).status == EventSeat.Status.AVAILABLE


def test_shoppers_who_held_while_the_room_slept_need_a_pass_once_it_is_awake(db):
    event = make_event(seats=10)
    room = make_room(event, mode=WaitingRoom.Mode.AUTO, auto_threshold=2)
    seats = _seat_ids(event)
    holds = [
        hold_create(event=event, buyer=_buyer(f"user:{i}"), seats=[seats[i]]) for i in range(3)
    ]
    services.room_tick(room=room)
    assert state.read(room.pk)["guard"] == "1"
    with pytest.raises(PassRequired):
        hold_create(event=event, buyer=_buyer("user:0"), seats=[seats[6]])
    # Their holds end, nobody waits: the room goes back to sleep.
    for hold in holds:
        hold.status = hold.Status.RELEASED
        hold.save(update_fields=["status"])
    services.room_tick(room=room)
    assert state.read(room.pk)["guard"] == "0"
