from __future__ import annotations

import threading
import time

import pytest
from django.core import signing

from queueing import selectors, services, state, tokens
from queueing.exceptions import PassExpired, PassInvalid, PassRequired, ShopFull, TokenInvalid
from queueing.models import WaitingRoom
from queueing.tests.factories import make_event, make_room

pytestmark = pytest.mark.django_db


def _admitted_pass(room, visitor: str) -> str:
    joined = services.queue_join(room_id=room.pk, visitor=visitor)
    state.conn().hset(state.keys(room.pk)["st"], "serving", joined.number)
    state.conn().zadd(state.keys(room.pk)["pend"], {joined.number: time.time()})
    status = selectors.queue_status(token=joined.token)
    assert status["state"] == "admitted"
    return status["pass"]


def test_no_room_or_room_off_does_not_guard(db):
    assert selectors.pass_validate(event_id=make_event().pk, buyer_key="user:1", token=None) is None
    room = make_room(mode=WaitingRoom.Mode.OFF)
    assert selectors.pass_validate(event_id=room.event_id, buyer_key="user:1", token=None) is None


def test_a_guarded_purchase_without_a_pass_is_refused_with_423(room):
    with pytest.raises(PassRequired) as exc:
        selectors.pass_validate(event_id=room.event_id, buyer_key="user:1", token=None)
    assert exc.value.status == 423


def test_a_valid_pass_claims_a_slot_and_carries_the_phase_cap(room):
    token = _admitted_pass(room, "user:1")
    qp = selectors.pass_validate(event_id=room.event_id, buyer_key="user:1", token=token)
    assert qp.visitor == "user:1" and qp.purchase_cap == 4 and qp.expires_at > time.time()
    assert state.counters(room.pk)["active"] == 1
    assert state.counters(room.pk)["pending"] == 0
    # Using it again is fine and takes no second slot.
    selectors.pass_validate(event_id=room.event_id, buyer_key="user:1", token=token)
    assert state.counters(room.pk)["claimed"] == 1


@pytest.mark.parametrize(
    "forge",
    [
        lambda room, good: "garbage",
        lambda room, good: good[:-2] + ("AA" if not good.endswith("AA") else "BB"),
        # a queue token is not a pass (salt per purpose)
        lambda room, good: tokens.token_make(
            room_id=room.pk, visitor="user:1", number=1, issued_at=time.time()
        ),
        # another visitor's pass
        lambda room, good: tokens.pass_make(
            room_id=room.pk, visitor="user:2", number=1, expires_at=time.time() + 60, cap=4
        ),
        # another room's pass
        lambda room, good: tokens.pass_make(
            room_id=room.pk + 1000, visitor="user:1", number=1, expires_at=time.time() + 60, cap=4
        ),
        # signed with another key
        lambda room, good: signing.dumps(
            {"r": room.pk, "v": "user:1", "n": 1, "e": 2e9},
            key="not-our-key",
            salt=tokens.PASS_SALT,
        ),
    ],
)
def test_forged_or_foreign_passes_are_refused(room, forge):
    good = _admitted_pass(room, "user:1")
    with pytest.raises(PassInvalid):
        selectors.pass_validate(event_id=room.event_id, buyer_key="user:1", token=forge(room, good))
    assert state.counters(room.pk)["active"] == 0


def test_expired_pass_is_refused_with_410(room):
    token = tokens.pass_make(
        room_id=room.pk, visitor="user:1", number=1, expires_at=time.time() - 1, cap=4
    )
    with pytest.raises(PassExpired) as exc:
        selectors.pass_validate(event_id=room.event_id, buyer_key="user:1", token=token)
    assert exc.value.status == 410


def test_pass_complete_ends_the_pass_and_frees_the_slot(room):
    token = _admitted_pass(room, "user:1")
    selectors.pass_validate(event_id=room.event_id, buyer_key="user:1", token=token)
    services.pass_complete(event_id=room.event_id, buyer_key="user:1")
    cnt = state.counters(room.pk)
    assert cnt["active"] == 0 and cnt["completed"] == 1
    with pytest.raises(PassExpired):
        selectors.pass_validate(event_id=room.event_id, buyer_key="user:1", token=token)
    joined = services.queue_join(room_id=room.pk, visitor="user:1")
    assert selectors.queue_status(token=joined.token)["state"] == "done"


def test_concurrent_claims_never_exceed_max_active_shoppers(transactional_db):
    room = make_room(max_active_shoppers=5)
    passes = {}
    for i in range(30):
        joined = services.queue_join(room_id=room.pk, visitor=f"user:{i}")
        passes[f"user:{i}"] = joined
    # All 30 admitted long ago and counted as no-shows: each claim now needs a free slot.
    state.conn().hset(state.keys(room.pk)["st"], "serving", 30)
    passes = {v: selectors.queue_status(token=j.token)["pass"] for v, j in passes.items()}
    results: list[str] = []
    barrier = threading.Barrier(len(passes))

    def claim(visitor: str, token: str) -> None:
        barrier.wait()
        try:
            selectors.pass_validate(event_id=room.event_id, buyer_key=visitor, token=token)
            results.append("ok")
        except ShopFull:
            results.append("full")
        finally:
            from django.db import connection

            connection.close()

    threads = [threading.Thread(target=claim, args=item) for item in passes.items()]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count("ok") == 5
    assert results.count("full") == 25
    assert state.counters(room.pk)["active"] == 5


@pytest.mark.parametrize("token", [None, "", "nonsense", "a:b:c"])
def test_status_refuses_bad_queue_tokens(room, token):
    with pytest.raises(TokenInvalid):
        selectors.queue_status(token=token)


def test_status_of_a_tampered_queue_token_is_refused(room):
    good = services.queue_join(room_id=room.pk, visitor="user:1").token
    payload, rest = good.split(":", 1)
    with pytest.raises(TokenInvalid):
        flipped = payload[:-1] + ("A" if payload[-1] != "A" else "B")
        selectors.queue_status(token=flipped + ":" + rest)


def test_status_says_admitted_without_a_pass_when_the_room_stops_guarding(
    room, django_capture_on_commit_callbacks
):
    for i in range(3):
        services.queue_join(room_id=room.pk, visitor=f"user:{i}")
    waiting = services.queue_join(room_id=room.pk, visitor="user:9")
    with django_capture_on_commit_callbacks(execute=True):
        services.room_update(room=room, changes={"mode": WaitingRoom.Mode.OFF})
    status = selectors.queue_status(token=waiting.token)
    assert status["state"] == "admitted" and "pass" not in status
    assert selectors.pass_validate(event_id=room.event_id, buyer_key="user:9", token=None) is None
