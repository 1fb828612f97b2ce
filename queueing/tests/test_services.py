from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
from django.utils import timezone

from events.models import EventSeat
from queueing import selectors, services, state
from queueing.models import WaitingRoom, WaitingRoomSnapshot
from queueing.tests.factories import make_event, make_room
from ticketing.models import AuditEntry

pytestmark = pytest.mark.django_db


def test_join_is_idempotent_per_visitor(room):
    first = services.queue_join(room_id=room.pk, visitor="user:1")
    services.queue_join(room_id=room.pk, visitor="user:2")
    again = services.queue_join(room_id=room.pk, visitor="user:1")
    assert first.number == again.number == 1
    assert state.counters(room.pk)["joined"] == 2


def test_joins_after_opening_are_first_come_first_served(room):
    numbers = [services.queue_join(room_id=room.pk, visitor=f"d:{i}").number for i in range(20)]
    assert numbers == list(range(1, 21))


def test_join_before_the_prequeue_opens_is_refused(db):
    now = timezone.now()
    room = make_room(prequeue_opens_at=now + dt.timedelta(minutes=5),
                     sale_opens_at=now + dt.timedelta(minutes=30))  # fmt: skip
    from queueing.exceptions import RoomNotOpen

    with pytest.raises(RoomNotOpen):
        services.queue_join(room_id=room.pk, visitor="device:x")


def test_tick_admits_at_the_rate_and_never_past_the_tail(room):
    for i in range(3):
        services.queue_join(room_id=room.pk, visitor=f"device:{i}")
    t0 = time.time()
    state.conn().hset(state.keys(room.pk)["st"], "last", t0)
    services.room_tick(room=room, now=t0)
    result = services.room_tick(room=room, now=t0 + 2)  # 60/min over 2 s = 2
    assert result["admitted"] == "2"
    services.room_tick(room=room, now=t0 + 8)  # would be 6 more, only 1 waits
    assert state.read(room.pk)["serving"] == "3"


def test_two_ticks_at_once_admit_exactly_the_planned_number(db):
    room = make_room(admission_rate_per_minute=600, max_active_shoppers=1000)
    for i in range(200):
        services.queue_join(room_id=room.pk, visitor=f"device:{i}")
    t0 = time.time()
    state.tick(room.pk, t0, -1)  # sets the clock
    base = int(state.read(room.pk)["serving"])
    admitted: list[int] = []
    barrier = threading.Barrier(8)

    def racer(offset: float) -> None:
        barrier.wait()
        admitted.append(int(state.tick(room.pk, t0 + offset, -1)["admitted"]))

    # Eight ticks race, some with the same clock, some with earlier clocks.
    threads = [threading.Thread(target=racer, args=(off,)) for off in (5, 5, 5, 3, 5, 1, 4, 5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(admitted) == 50  # 600/min over 5 s, once
    assert int(state.read(room.pk)["serving"]) == base + 50


def test_admission_stops_at_max_active_shoppers(room):
    for i in range(20):
        services.queue_join(room_id=room.pk, visitor=f"device:{i}")
    t0 = time.time()
    state.tick(room.pk, t0, -1)
    state.tick(room.pk, t0 + 10, -1)  # 10 wanted, cap 5
    assert state.read(room.pk)["serving"] == "5"


def test_pause_and_drain_stop_admission_and_are_audited(
    room, admin_user, django_capture_on_commit_callbacks
):
    services.queue_join(room_id=room.pk, visitor="device:a")
    with django_capture_on_commit_callbacks(execute=True):
        services.room_action(room=room, action="pause", actor=admin_user)
    t0 = time.time()
    services.room_tick(room=room, now=t0)
    services.room_tick(room=room, now=t0 + 5)
    assert state.read(room.pk)["serving"] == "0"
    with django_capture_on_commit_callbacks(execute=True):
        services.room_action(room=room, action="resume", actor=admin_user)
        services.room_action(room=room, action="drain", actor=admin_user)
    from queueing.exceptions import RoomClosed

    with pytest.raises(RoomClosed):
        services.queue_join(room_id=room.pk, visitor="device:b")
    actions = list(AuditEntry.objects.filter(object_id=str(room.pk)).values_list("action", "data"))
    assert [a for a, _ in actions].count("queue.room_updated") == 3
    assert {"paused": {"old": "False", "new": "True"}} in [d for _, d in actions]


def test_live_rate_change_reaches_the_tick(room, admin_user, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        changes = {"admission_rate_per_minute": 120}
        services.room_update(room=room, changes=changes, actor=admin_user)
    assert state.read(room.pk)["rate"] == "120"
    room.refresh_from_db()
    assert room.admission_rate_per_minute == 120


def test_sold_out_stops_admission(db):
    event = make_event(seats=6)
    room = make_room(event, admission_rate_per_minute=600, max_active_shoppers=100,
                     expected_tickets_per_buyer=2)  # fmt: skip
    for i in range(10):
        services.queue_join(room_id=room.pk, visitor=f"device:{i}")
    t0 = time.time()
    services.room_tick(room=room, now=t0)
    services.room_tick(room=room, now=t0 + 5)
    # 6 seats, 2 per buyer: 3 buyers can be served; the rest wait (the seats
    # are spoken for, not sold: those 3 may not come).
    st = state.read(room.pk)
    assert (st["serving"], st["sold_out"]) == ("3", "0")
    waiting = services.queue_join(room_id=room.pk, visitor="device:9")
    assert selectors.queue_status(token=waiting.token)["state"] == "waiting"
    # Everything sold: sold out for everyone still waiting.
    EventSeat.objects.filter(event=event).update(status="sold")
    services.room_tick(room=room, now=t0 + 6)
    assert state.read(room.pk)["sold_out"] == "1"
    assert selectors.room_public_state(room_id=room.pk)["state"] == "sold_out"
    assert selectors.queue_status(token=waiting.token)["state"] == "sold_out"
    # Stock comes back (a refund, say): no longer sold out, but still no
    # admission while the 3 admitted visitors, not yet shopping, expect 6.
    EventSeat.objects.filter(event=event).update(status="available")
    result = services.room_tick(room=room, now=t0 + 7)
    assert (result["admitted"], state.read(room.pk)["sold_out"]) == ("0", "0")


def test_no_shows_are_counted_and_raise_the_effective_rate(db):
    room = make_room(
        admission_rate_per_minute=60, max_active_shoppers=1000, no_show_grace_seconds=5
    )
    for i in range(100):
        services.queue_join(room_id=room.pk, visitor=f"device:{i}")
    t0 = time.time()
    state.tick(room.pk, t0, -1)
    state.tick(room.pk, t0 + 10, -1)  # 10 admitted, nobody claims
    state.tick(room.pk, t0 + 20, -1)  # 10 no-shows counted, 10 more admitted
    state.tick(room.pk, t0 + 30, -1)
    cnt = state.counters(room.pk)
    assert cnt["no_show"] == 20
    # 20 no-shows, 0 claims: ratio capped at 0.5, rate doubled.
    assert float(state.read(room.pk)["eff"]) == pytest.approx(120)


def test_recovery_after_redis_loss_keeps_places(room, redis_conn):
    tokens = {f"d:{i}": services.queue_join(room_id=room.pk, visitor=f"d:{i}") for i in range(5)}
    t0 = time.time()
    services.room_tick(room=room, now=t0)
    services.room_tick(room=room, now=t0 + 2)
    services.room_snapshot(room=room, now=t0 + 2)  # the periodic snapshot
    late = services.queue_join(room_id=room.pk, visitor="device:late")  # after the snapshot
    late2 = services.queue_join(room_id=room.pk, visitor="device:late2")
    redis_conn.flushdb()
    selectors._memo.clear()
    services.room_tick(room=room, now=t0 + 3)  # rebuilds from the snapshot
    st = state.read(room.pk)
    assert st["serving"] == "2"
    for visitor, joined in tokens.items():
        status = selectors.queue_status(token=joined.token)
        assert status["number"] == joined.number
        assert services.queue_join(room_id=room.pk, visitor=visitor).number == joined.number
    assert selectors.queue_status(token=late.token)["number"] == 6
    newcomer = services.queue_join(room_id=room.pk, visitor="device:new")
    assert newcomer.number > 6
    # Re-joined before polling: a worse number; the old token restores the place.
    assert services.queue_join(room_id=room.pk, visitor="device:late2").number > 7
    assert selectors.queue_status(token=late2.token)["number"] == 7
    assert services.queue_join(room_id=room.pk, visitor="device:late2").number == 7


def test_prequeue_visitors_keep_their_drawn_number_after_redis_loss(db, redis_conn):
    now = timezone.now()
    room = make_room(prequeue_opens_at=now - dt.timedelta(minutes=5),
                     sale_opens_at=now + dt.timedelta(minutes=5))  # fmt: skip
    joined = [services.queue_join(room_id=room.pk, visitor=f"d:{i}") for i in range(10)]
    opening = room.sale_opens_at.timestamp()
    services.room_tick(room=room, now=opening + 1)
    services.room_snapshot(room=room, now=opening + 1)
    drawn = [selectors.queue_status(token=j.token) for j in joined]
    redis_conn.flushdb()
    services.room_tick(room=room, now=opening + 2)
    for status in drawn:
        assert selectors.queue_status(token=status["token"])["number"] == status["number"]


def test_mode_auto_turns_on_above_threshold_and_off_when_empty(db):
    from accounts.selectors import Buyer
    from orders.models import Hold
    from orders.services.holds import hold_create
    from queueing.exceptions import PassRequired

    event = make_event()
    room = make_room(event, mode=WaitingRoom.Mode.AUTO, auto_threshold=2)
    seats = list(EventSeat.objects.filter(event=event).values_list("pk", flat=True))
    for i in (1, 2):
        hold_create(event=event, buyer=Buyer(channel="web", key=f"user:{i}"), seats=[seats[i]])
    services.room_tick(room=room)
    assert state.read(room.pk)["guard"] == "0"  # 2 shoppers, threshold 2
    hold_create(event=event, buyer=Buyer(channel="web", key="user:3"), seats=[seats[3]])
    services.room_tick(room=room)
    assert state.read(room.pk)["guard"] == "1"
    with pytest.raises(PassRequired):
        selectors.pass_validate(event_id=event.pk, buyer_key="user:4", token=None)
    Hold.objects.filter(event=event).update(status=Hold.Status.RELEASED)
    services.room_tick(room=room)
    assert state.read(room.pk)["guard"] == "0"


def test_snapshots_are_taken_by_the_tick(room):
    t0 = time.time()
    services.room_tick(room=room, now=t0)
    services.room_tick(room=room, now=t0 + 1)
    services.room_tick(room=room, now=t0 + 11)
    assert WaitingRoomSnapshot.objects.filter(room=room).count() == 2


def test_rooms_tick_skips_rooms_that_are_off(db):
    make_room(mode=WaitingRoom.Mode.OFF)
    make_room()
    assert services.rooms_tick() == 1


def test_a_sale_moved_later_before_anyone_joined_takes_joins_into_the_prequeue(
    room, django_capture_on_commit_callbacks
):
    """The room opened (its sale time had passed), then staff moved the sale
    an hour later: visitors join the pre-queue again and nobody is admitted
    before the new time, when the pre-queue is drawn."""
    assert state.read(room.pk)["phase"] == "open"
    later = timezone.now() + dt.timedelta(hours=1)
    with django_capture_on_commit_callbacks(execute=True):
        services.room_update(room=room, changes={"sale_opens_at": later})
    assert state.read(room.pk)["phase"] == "pre"
    joined = services.queue_join(room_id=room.pk, visitor="device:early")
    assert joined.number == 0  # drawn at the opening
    t0 = time.time()
    services.room_tick(room=room, now=t0)
    assert services.room_tick(room=room, now=t0 + 5)["admitted"] == "0"
    assert state.read(room.pk)["serving"] == "0"


def test_an_open_room_admits_nobody_before_the_sale_time(room, django_capture_on_commit_callbacks):
    """Numbers already given keep the room open when the sale moves later; the
    tick still waits for the sale's own time."""
    for i in range(3):
        services.queue_join(room_id=room.pk, visitor=f"device:{i}")
    later = timezone.now() + dt.timedelta(hours=1)
    with django_capture_on_commit_callbacks(execute=True):
        services.room_update(room=room, changes={"sale_opens_at": later})
    assert state.read(room.pk)["phase"] == "open"
    t0 = time.time()
    state.conn().hset(state.keys(room.pk)["st"], "last", t0)
    assert services.room_tick(room=room, now=t0 + 5)["admitted"] == "0"
    opened = later.timestamp()
    state.conn().hset(state.keys(room.pk)["st"], "last", opened)
    assert services.room_tick(room=room, now=opened + 2)["admitted"] == "2"  # 60/min over 2 s


def test_the_prequeue_is_drawn_ahead_of_the_opening_and_admitted_at_it(db, settings):
    """Numbers are drawn QUEUE_DRAW_LEAD_SECONDS early (pages learn them
    before anyone buys); admission still starts at the opening."""
    settings.QUEUE_DRAW_LEAD_SECONDS = 60
    now = timezone.now()
    room = make_room(prequeue_opens_at=now - dt.timedelta(minutes=5),
                     sale_opens_at=now + dt.timedelta(minutes=10),
                     admission_rate_per_minute=60)  # fmt: skip
    joined = [services.queue_join(room_id=room.pk, visitor=f"d:{i}") for i in range(5)]
    opening = room.sale_opens_at.timestamp()
    services.room_tick(room=room, now=opening - 61)
    assert state.read(room.pk)["phase"] == "pre"
    services.room_tick(room=room, now=opening - 59)
    assert state.read(room.pk)["phase"] == "open"
    numbers = sorted(selectors.queue_status(token=j.token)["number"] for j in joined)
    assert numbers == [1, 2, 3, 4, 5]
    assert services.queue_join(room_id=room.pk, visitor="d:late").number == 6  # FIFO now
    assert services.room_tick(room=room, now=opening - 30)["admitted"] == "0"
    assert state.read(room.pk)["serving"] == "0"
    state.conn().hset(state.keys(room.pk)["st"], "last", opening)
    assert services.room_tick(room=room, now=opening + 2)["admitted"] == "2"
