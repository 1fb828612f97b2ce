"""When a pass has ended, Postgres knows it too (issue 15, item 6): a pass
whose buyer has paid since it was issued is refused even before the payment's
commit reaches Redis, and a Redis loss brings back no ended or expired pass."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from django.utils import timezone

from orders.models import Hold, Order
from queueing import selectors, services, state
from queueing.exceptions import PassEnded, PassExpired
from queueing.models import WaitingRoomSnapshot
from queueing.tests.factories import make_event, make_room

pytestmark = pytest.mark.django_db


def _admit_everyone(room, t0: float) -> None:
    state.conn().hset(state.keys(room.pk)["st"], "last", t0)
    services.room_tick(room=room, now=t0 + 5)


def _paid_order(event, buyer_key: str, *, paid_at: dt.datetime | None = None) -> Order:
    """A paid order in Postgres, without the Redis side (pass_complete runs on commit)."""
    now = timezone.now()
    hold = Hold.objects.create(event=event, phase=event.phases.first(), buyer_key=buyer_key,
                               channel="web", quantity=1, total="10000.00", currency="KZT",
                               status=Hold.Status.CONVERTED, expires_at=now)  # fmt: skip
    return Order.objects.create(
        code=f"T{hold.pk.hex[:8]}", access_token=hold.pk.hex, event=event,
        phase=event.phases.first(), hold=hold, buyer_key=buyer_key, channel="web",
        email="a@example.com", name="A", status=Order.Status.PAID, quantity=1,
        total="10000.00", currency="KZT", expires_at=now, paid_at=paid_at or now,
    )  # fmt: skip


def _flush_and_rebuild(room, redis_conn) -> None:
    redis_conn.flushdb()
    selectors._memo.clear()
    services.room_tick(room=room)  # rebuilds from the latest snapshot


def test_a_pass_is_refused_once_its_order_is_paid_before_redis_hears_of_it(room):
    joined = services.queue_join(room_id=room.pk, visitor="user:1")
    _admit_everyone(room, time.time())
    queue_pass = selectors.queue_status(token=joined.token)["pass"]
    assert selectors.pass_validate(event_id=room.event_id, buyer_key="user:1", token=queue_pass)
    _paid_order(room.event, "user:1")  # committed; its on_commit pass_complete not run yet
    with pytest.raises(PassEnded):
        selectors.pass_validate(event_id=room.event_id, buyer_key="user:1", token=queue_pass)


def test_an_order_paid_before_the_pass_was_issued_does_not_end_it(room):
    """Second purchase: the first order's payment ended the first pass only."""
    _paid_order(room.event, "user:1", paid_at=timezone.now() - dt.timedelta(minutes=5))
    joined = services.queue_join(room_id=room.pk, visitor="user:1")
    _admit_everyone(room, time.time())
    queue_pass = selectors.queue_status(token=joined.token)["pass"]
    assert selectors.pass_validate(event_id=room.event_id, buyer_key="user:1", token=queue_pass)


def test_an_ended_pass_stays_ended_after_a_redis_loss(room, redis_conn):
    joined = services.queue_join(room_id=room.pk, visitor="user:1")
    _admit_everyone(room, time.time())  # the tick also takes a snapshot
    queue_pass = selectors.queue_status(token=joined.token)["pass"]
    selectors.pass_validate(event_id=room.event_id, buyer_key="user:1", token=queue_pass)
    _paid_order(room.event, "user:1")
    services.pass_complete(event_id=room.event_id, buyer_key="user:1")
    assert selectors.queue_status(token=joined.token)["state"] == "done"

    _flush_and_rebuild(room, redis_conn)

    status = selectors.queue_status(token=joined.token)
    assert status["state"] == "done" and "pass" not in status
    with pytest.raises(PassEnded):
        selectors.pass_validate(event_id=room.event_id, buyer_key="user:1", token=queue_pass)


def test_a_pass_that_ran_out_stays_expired_after_a_redis_loss(db, redis_conn):
    now = time.time()
    ago = timezone.now() - dt.timedelta(minutes=30)
    room = make_room(make_event(), sale_opens_at=ago - dt.timedelta(minutes=10), pass_minutes=15,
                     admission_rate_per_minute=60, max_active_shoppers=5)  # fmt: skip
    joined = services.queue_join(room_id=room.pk, visitor="user:1")
    WaitingRoomSnapshot.objects.create(room=room, taken_at=ago, phase="open", tail=1, serving=0)
    _admit_everyone(room, now - 1800)  # admitted half an hour ago (and a snapshot of it)
    expired = selectors.queue_status(token=joined.token, now=now - 1790)["pass"]
    with pytest.raises(PassExpired):
        selectors.pass_validate(event_id=room.event_id, buyer_key="user:1", token=expired)
    assert selectors.queue_status(token=joined.token)["state"] == "expired"

    _flush_and_rebuild(room, redis_conn)

    status = selectors.queue_status(token=joined.token)
    assert status["state"] == "expired" and "pass" not in status
    with pytest.raises(PassExpired):
        selectors.pass_validate(event_id=room.event_id, buyer_key="user:1", token=expired)


def test_places_admitted_after_the_rebuild_get_a_full_pass(db, redis_conn):
    room = make_room(make_event(seats=40), admission_rate_per_minute=600, max_active_shoppers=50)
    services.room_tick(room=room)  # a snapshot serving nobody yet
    _flush_and_rebuild(room, redis_conn)
    joined = services.queue_join(room_id=room.pk, visitor="user:2")  # after the moved tail
    _admit_everyone(room, time.time())
    status = selectors.queue_status(token=joined.token)
    assert status["state"] == "admitted"
    assert status["pass_expires_at"] >= time.time() + room.pass_minutes * 60 - 5
