from __future__ import annotations

import pytest

from conftest import wait_for
from queueing import services, state
from queueing.tests.conftest import make_room


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
