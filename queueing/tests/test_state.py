"""The Lua scripts' rules come from settings (ARGV), their answers are named."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from queueing import services, state
from queueing.tests.factories import make_room

pytestmark = pytest.mark.django_db


def _waiting_room(count: int, **fields):
    room = make_room(**fields)
    for i in range(count):
        services.queue_join(room_id=room.pk, visitor=f"device:{i}")
    return room


def test_scripts_answer_with_named_fields(room):
    joined = state.join(room.pk, "device:a", time.time())
    assert (joined["code"], joined["number"]) == ("n", "1")
    assert set(state.JOIN_FIELDS) <= set(joined)
    t0 = time.time()
    state.tick(room.pk, t0, -1)
    ticked = state.tick(room.pk, t0 + 1, 7)
    assert ticked == {"code": "ok", "admitted": "1", "serving": "1", "tail": "1", "active": "0",
                      "sold_out": "0", "no_show_ratio": "0"}  # fmt: skip
    status = state.status(room.pk, "device:a", 1, t0 + 2)
    assert (status["code"], status["number"], status["serving"]) == ("ok", "1", "1")
    assert status["visitor"] == "device:a"
    assert set(state.STATUS_FIELDS) <= set(status)
    assert state.rejoin(room.pk, "device:b", t0) == {"code": "none", "number": "0"}
    assert state.claim(room.pk, "device:a", 1, t0 + 600, t0 + 2) == "claimed"
    assert state.claim(room.pk, "device:a", 1, t0 + 600, t0 + 2) == "shopping"


def test_the_elapsed_cap_is_a_setting(db, settings):
    room = _waiting_room(30, admission_rate_per_minute=60, max_active_shoppers=1000)
    t0 = time.time()
    state.tick(room.pk, t0, -1)
    assert state.tick(room.pk, t0 + 30, -1)["admitted"] == "10"  # the default cap, 10 s
    settings.QUEUE_TICK_ELAPSED_CAP_SECONDS = 3
    assert state.tick(room.pk, t0 + 60, -1)["admitted"] == "3"


def _no_shows(room) -> float:
    """20 admitted, none claimed, all lapsed; the effective rate after that."""
    t0 = time.time()
    state.tick(room.pk, t0, -1)
    state.tick(room.pk, t0 + 10, -1)
    state.tick(room.pk, t0 + 20, -1)
    state.tick(room.pk, t0 + 30, -1)
    assert state.counters(room.pk)["no_show"] == 20
    return float(state.read(room.pk)["eff"])


@pytest.mark.parametrize(
    ("overrides", "eff"),
    [
        ({}, 120),  # 100 % no-shows, counted as at most 50 %: rate doubled
        ({"QUEUE_NO_SHOW_MAX_PERCENT": 25}, 80),  # 60 / 0.75
        ({"QUEUE_NO_SHOW_MIN_SAMPLES": 1000}, 60),  # too few to correct for
    ],
)
def test_the_no_show_correction_follows_its_settings(db, settings, overrides, eff):
    for name, value in overrides.items():
        setattr(settings, name, value)
    room = _waiting_room(100, admission_rate_per_minute=60, max_active_shoppers=1000,
                         no_show_grace_seconds=5)  # fmt: skip
    assert _no_shows(room) == pytest.approx(eff)


@pytest.mark.parametrize(("smoothing", "erate"), [(60, 60 - (1 - 2.718281828 ** (-10 / 60)) * 48),
                                                  (1, 12)])  # fmt: skip
def test_the_rate_smoothing_is_a_setting(db, settings, smoothing, erate):
    settings.QUEUE_RATE_SMOOTHING_SECONDS = smoothing
    # 60/min wanted, a shop of 2: 2 admitted in 10 s (12/min) while 18 wait.
    room = _waiting_room(20, admission_rate_per_minute=60, max_active_shoppers=2)
    t0 = time.time()
    state.tick(room.pk, t0, -1)
    state.tick(room.pk, t0 + 10, -1)
    assert float(state.read(room.pk)["erate"]) == pytest.approx(erate, abs=0.01)


def test_a_room_hash_without_its_settings_falls_back_to_the_room_defaults(room):
    services.queue_join(room_id=room.pk, visitor="device:a")
    t0 = time.time()
    state.tick(room.pk, t0, -1)
    state.tick(room.pk, t0 + 1, -1)
    state.conn().hdel(state.keys(room.pk)["st"], "pass_s")
    status = state.status(room.pk, "device:a", 1, t0 + 2)
    assert float(status["pexp"]) == pytest.approx(t0 + 2 + 15 * 60)  # pass_minutes' default


def test_a_plain_write_of_the_room_hash_is_refused_for_what_the_scripts_own(room):
    state.settings_write(room.pk, {"paused": "1", "snap_at": "5"})
    assert state.read(room.pk)["paused"] == "1"
    with pytest.raises(ValueError, match="serving"):
        state.settings_write(room.pk, {"serving": "100"})
    assert state.read(room.pk)["serving"] == "0"


def test_only_state_py_writes_the_live_state():
    writes = re.compile(
        r"\.(hset|hsetnx|hdel|hincrby|lpush|ltrim|zadd|zrem|sadd|srem)\(|scripts\(\)"
    )
    here = Path(state.__file__).parent
    for module in here.glob("*.py"):
        if module.name != "state.py":
            source = module.read_text()
            assert not writes.search(source) and "scripts()" not in source, module.name
