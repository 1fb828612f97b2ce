from __future__ import annotations

import time

import pytest
from django.utils import translation
from playwright.sync_api import expect

from queueing import services, state, wait
from queueing.tests.factories import make_event, make_room
from ticketing.cookies import pass_cookie

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
    assert page.inner_text("#q-ahead") == "1"  # number 2: one person ahead
    t0 = time.time()
    state.conn().hset(state.keys(room.pk)["st"], "last", t0)  # the clock starts now
    services.room_tick(room=room, now=t0 + 1)  # admits number 1: we move up
    # expect(), not wait_for_function("..."): Playwright evals a string predicate
    # in the page, which the Content-Security-Policy (no 'unsafe-eval') refuses.
    expect(page.locator("#q-ahead")).to_have_text("0", timeout=15000)
    services.room_tick(room=room, now=t0 + 2)  # admits us
    page.wait_for_selector(f'a[href="/e/{room.event.slug}/"]', timeout=15000)
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    assert pass_cookie(room.event_id) in cookies
    status_calls = [u for u in requests if "/queue/status/" in u]
    state_calls = [u for u in requests if "/queue/state/" in u]
    assert state_calls and len(status_calls) == 1  # per-visitor status only once admitted


def test_waiting_page_says_the_wait_in_words_and_keeps_it_current(
    transactional_db, live_server, page
):
    """400 in line at 30/min: "about 13 minutes" from the first moment (it
    showed "—", then 5895 s ...), and the first in line has nobody ahead."""
    big = make_event(seats=0, standing=10000)
    room = make_room(big, admission_rate_per_minute=30, max_active_shoppers=1000)
    for i in range(399):
        services.queue_join(room_id=room.pk, visitor=f"device:{i}")
    page.goto(f"{live_server.url}/e/{room.event.slug}/queue/")
    page.click("button[type=submit]")
    page.wait_for_selector("#q-number")
    assert page.inner_text("#q-number") == "400"
    assert page.inner_text("#q-ahead") == "399"
    assert page.inner_text("#q-eta") == "примерно 13 минут"
    text = page.inner_text("#queue-status")
    assert "Людей перед вами: 399" in text and "Примерное ожидание: примерно 13 минут" in text
    # The line moves (the public state's serving counter): the page follows
    # by itself, between polls, with the same rule as the server.
    state.conn().hset(state.keys(room.pk)["st"], "serving", 398)
    expect(page.locator("#q-ahead")).to_have_text("1", timeout=15000)
    assert page.inner_text("#q-eta") == "меньше минуты"
    # queue.js says every wait exactly as the server does (queueing/wait.py).
    samples = [None, 0, 59, 60, 89, 90, 61 * 60, 79 * 60, 80 * 60, 83 * 60, 185 * 60,
               23 * 3600 + 58 * 60, 24 * 3600, 5 * 24 * 3600]  # fmt: skip
    in_js = page.evaluate("s => s.map(x => window.kassaQueueWait.words(x))", samples)
    with translation.override("ru"):
        assert in_js == [wait.words(x) for x in samples]
    # ... and computes place, people ahead and wait by the server's rule
    # (queueing/wait.py `wait`, its definition) on the same inputs.
    cases = [(400, 0, 30), (400, 398, 30), (1, 0, 600), (5, 5, 60), (3, 9, 60), (10, 0, 0),
             (7, 2, 7), (100000, 1, 1), (61, 0, 59)]  # fmt: skip
    in_js = page.evaluate("cs => cs.map(c => window.kassaQueueWait.wait(c[0], c[1], c[2]))", cases)
    assert in_js == [wait.wait(*c) for c in cases]
    assert in_js[0] == {"position": 400, "ahead": 399, "eta_seconds": 800}
