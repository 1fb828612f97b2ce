from __future__ import annotations

import time

import pytest

from queueing import services, state
from queueing.tests.conftest import make_room

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_waiting_page_polls_the_public_state_and_stores_the_pass(
    transactional_db, live_server, page
):
    room = make_room(admission_rate_per_minute=60, max_active_shoppers=5)
    services.queue_join(room_id=room.pk, visitor="device:ahead")  # someone is ahead of us
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(f"{live_server.url}/e/{room.event.slug}/queue/")
    page.click("button[type=submit]")
    page.wait_for_selector("#q-number")
    assert page.inner_text("#q-position") == "2"
    t0 = time.time()
    state.conn().hset(state.keys(room.pk)["st"], "last", t0)  # the clock starts now
    services.room_tick(room=room, now=t0 + 1)  # admits number 1: we move up
    page.wait_for_function(
        "document.getElementById('q-position')?.textContent === '1'", timeout=15000
    )
    services.room_tick(room=room, now=t0 + 2)  # admits us
    page.wait_for_selector(f'a[href="/e/{room.event.slug}/"]', timeout=15000)
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    assert f"kassa_pass_{room.event_id}" in cookies
    status_calls = [u for u in requests if "/queue/status/" in u]
    state_calls = [u for u in requests if "/queue/state/" in u]
    assert state_calls and len(status_calls) == 1  # per-visitor status only once admitted
