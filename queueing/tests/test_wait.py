"""The waiting page's figures and the wait in words (queueing/wait.py), and the
smoothed rate the tick keeps for them (state.TICK `erate`)."""

from __future__ import annotations

import itertools
import time

import pytest
from django.utils import translation

from queueing import selectors, services, state, wait
from queueing.tests.factories import make_event, make_room


def _words(number: int, serving: int, rate: float, lang: str = "en") -> str:
    with translation.override(lang):
        return wait.words(wait.wait(number, serving, rate)["eta_seconds"])


def test_the_first_in_line_has_nobody_ahead():
    assert wait.wait(1, 0, 30) == {"position": 1, "ahead": 0, "eta_seconds": 2}
    assert wait.wait(5, 2, 60)["ahead"] == 2
    assert wait.wait(3, 3, 60) == {"position": 0, "ahead": 0, "eta_seconds": 0}


def test_one_ahead_at_600_a_minute_is_less_than_a_minute():
    assert _words(2, 0, 600) == "less than a minute"


def test_400_queued_at_30_a_minute_is_about_13_minutes():
    assert _words(400, 0, 30) == "about 13 minutes"


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (None, "not known yet"),
        (0, "less than a minute"),
        (59, "less than a minute"),
        (60, "about 1 minute"),
        (89, "about 1 minute"),
        (90, "about 2 minutes"),
        (59 * 60, "about 59 minutes"),
        (60 * 60, "about 1 hour"),
        (80 * 60, "about 1 hour 20 minutes"),
        (82 * 60, "about 1 hour 20 minutes"),  # hours: to the nearest 5 minutes
        (83 * 60, "about 1 hour 25 minutes"),
        (119 * 60 + 50, "about 2 hours"),
        (24 * 3600, "more than a day"),
    ],
)
def test_the_wait_in_words_is_never_a_count_of_seconds(seconds, text):
    with translation.override("en"):
        assert wait.words(seconds) == text


@pytest.mark.parametrize(
    ("minutes", "ru", "kk"),
    [
        (1, "примерно 1 минута", "шамамен 1 минут"),
        (2, "примерно 2 минуты", "шамамен 2 минут"),
        (5, "примерно 5 минут", "шамамен 5 минут"),
        (21, "примерно 21 минута", "шамамен 21 минут"),
        (80, "примерно 1 час 20 минут", "шамамен 1 сағат 20 минут"),
        (185, "примерно 3 часа 5 минут", "шамамен 3 сағат 5 минут"),
    ],
)
def test_the_wait_in_russian_and_kazakh_uses_their_plural_forms(minutes, ru, kk):
    for lang, text in (("ru", ru), ("kk", kk)):
        with translation.override(lang):
            assert wait.words(minutes * 60) == text
    with translation.override("ru"):
        assert wait.words(30) == "меньше минуты"


# --- the rate behind it ------------------------------------------------------


def _status(joined) -> dict:
    return selectors.queue_status(token=joined.token)


@pytest.mark.django_db
def test_before_anything_is_measured_the_wait_comes_from_the_configured_rate():
    room = make_room(admission_rate_per_minute=30, max_active_shoppers=1000)
    joined = [services.queue_join(room_id=room.pk, visitor=f"d:{i}") for i in range(400)]
    assert selectors.room_public_state(room_id=room.pk)["rate_per_minute"] == 30
    status = _status(joined[-1])
    assert (status["ahead"], status["eta_seconds"]) == (399, 800)
    assert _status(joined[0])["ahead"] == 0
    with translation.override("en"):
        assert wait.words(status["eta_seconds"]) == "about 13 minutes"


@pytest.mark.django_db
def test_admitting_at_the_configured_rate_the_wait_only_counts_down():
    """400 queued at 30/min: the page said "—", then 5895 s, 2328 s, 1536 s
    and 706 s within a minute. Now it starts right and moves steadily."""
    big = make_event(seats=0, standing=10000)  # neither the shop nor the stock hold it back
    room = make_room(big, admission_rate_per_minute=30, max_active_shoppers=1000)
    last = [services.queue_join(room_id=room.pk, visitor=f"d:{i}") for i in range(400)][-1]
    t0 = time.time()
    state.conn().hset(state.keys(room.pk)["st"], "last", t0)
    etas = [_status(last)["eta_seconds"]]
    for step in range(1, 121):
        services.room_tick(room=room, now=t0 + step)
        etas.append(_status(last)["eta_seconds"])
    assert etas[0] == 800 and etas[-1] == pytest.approx(800 - 120, abs=3)
    assert all(later <= earlier for earlier, later in itertools.pairwise(etas))
    assert max(a - b for a, b in itertools.pairwise(etas)) <= 4  # no jumps
    assert selectors.room_public_state(room_id=room.pk)["rate_per_minute"] == 30


@pytest.mark.django_db
def test_a_short_queue_does_not_pull_the_rate_down():
    """One person ahead at 600/min said "60 s": the measured rate of a queue
    of two is the arrival rate, not how fast the line moves."""
    room = make_room(admission_rate_per_minute=600, max_active_shoppers=1000)
    t0 = time.time()
    state.conn().hset(state.keys(room.pk)["st"], "last", t0)
    for step in range(1, 91):
        if step % 30 == 0:
            services.queue_join(room_id=room.pk, visitor=f"early:{step}")
        services.room_tick(room=room, now=t0 + step)
    assert selectors.room_public_state(room_id=room.pk)["rate_per_minute"] == 600
    services.queue_join(room_id=room.pk, visitor="d:ahead")
    me = services.queue_join(room_id=room.pk, visitor="d:me")
    status = _status(me)
    assert status["ahead"] == 1
    with translation.override("en"):
        assert wait.words(status["eta_seconds"]) == "less than a minute"


@pytest.mark.django_db
def test_a_full_shop_slows_the_wait_smoothly_down_to_what_is_admitted():
    # Configured 600/min, but the shop cap (2) holds admissions back.
    room = make_room(admission_rate_per_minute=600, max_active_shoppers=2, pass_minutes=1)
    for i in range(50):
        services.queue_join(room_id=room.pk, visitor=f"d:{i}")
    t0 = time.time()
    state.conn().hset(state.keys(room.pk)["st"], "last", t0)
    rates = []
    for step in range(1, 301):
        services.room_tick(room=room, now=t0 + step)
        rates.append(selectors.room_public_state(room_id=room.pk)["rate_per_minute"])
    assert rates[0] > 500  # no jump at the start
    assert max(abs(a - b) for a, b in itertools.pairwise(rates)) <= 10  # step by step
    assert rates[-1] < 20  # it has learnt how slowly the line moves
