from __future__ import annotations

import time

import pytest

from queueing import services, state
from queueing.tests.factories import make_room
from ticketing.tests.factories import wait_for


@pytest.mark.slow
def test_a_real_worker_runs_the_admission_tick(celery_worker_process):
    room = make_room(admission_rate_per_minute=600, max_active_shoppers=10)
    for i in range(3):
        services.queue_join(room_id=room.pk, visitor=f"d:{i}")
    from queueing.tasks import admission_tick

    def admitted() -> bool:
        admission_tick.delay()
        return state.read(room.pk).get("serving") == "3"

    wait_for(admitted, timeout=30, interval=0.5)


def test_the_tick_publishes_the_room_gauges(db):
    from django.test import Client

    room = make_room(admission_rate_per_minute=600, max_active_shoppers=10)
    for i in range(8):
        services.queue_join(room_id=room.pk, visitor=f"d:{i}")
    t0 = time.time()
    state.conn().hset(state.keys(room.pk)["st"], "last", t0)
    services.room_tick(room=room, now=t0 + 0.5)  # 600/min over 0.5 s = 5
    body = Client(REMOTE_ADDR="127.0.0.1").get("/metrics").content.decode()
    label = f'room="{room.event.slug}"'
    assert f"kassa_queue_waiting{{{label}}} 3.0" in body
    assert f"kassa_queue_admitted{{{label}}} 5.0" in body
    assert f"kassa_queue_active{{{label}}} 5.0" in body
