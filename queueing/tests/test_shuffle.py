from __future__ import annotations

import datetime as dt
import secrets
import time

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from queueing import selectors, services, shuffle, state
from queueing.models import WaitingRoom
from queueing.tests.factories import make_room


@pytest.fixture
def prequeue_room(db):
    now = timezone.now()
    return make_room(
        prequeue_opens_at=now - dt.timedelta(minutes=10),
        sale_opens_at=now + dt.timedelta(minutes=20),
        admission_rate_per_minute=60,
        max_active_shoppers=100,
    )


@pytest.mark.django_db
def ordered_visitor_0(visitors, seed: str) -> str:
    first = shuffle.order(seed, [shuffle.pseudonym(v) for v in visitors])[0]
    return next(v for v in visitors if shuffle.pseudonym(v) == first)


def test_prequeue_is_shuffled_at_opening_and_reverifiable(prequeue_room, capsys, tmp_path):
    room = prequeue_room
    before = Client().get(f"/api/v1/events/{room.event.slug}/queue/shuffle/").json()
    assert before == {"commitment": room.seed_hash, "seed": None, "base": None, "order": None}
    public = selectors.room_public_state(room_id=room.pk)
    assert public["state"] == "prequeue"
    assert public["commitment"] == shuffle.commitment(room.seed)
    assert public["seed"] is None  # not revealed before the opening
    early = {f"d:{i}": services.queue_join(room_id=room.pk, visitor=f"d:{i}") for i in range(30)}
    assert all(j.number == 0 for j in early.values())
    assert selectors.queue_status(token=early["d:0"].token)["prequeue"] is True

    services.room_tick(room=room, now=room.sale_opens_at.timestamp() + 1)

    room.refresh_from_db()
    assert room.seed_revealed_at is not None
    assert selectors.room_public_state(room_id=room.pk)["seed"] == room.seed
    numbers = {v: selectors.queue_status(token=j.token)["number"] for v, j in early.items()}
    assert sorted(numbers.values()) == list(range(1, 31))
    ordered = shuffle.order(room.seed, [shuffle.pseudonym(v) for v in early])
    by_permutation = sorted(early, key=lambda v: ordered.index(shuffle.pseudonym(v)))
    assert [numbers[v] for v in by_permutation] == list(range(1, 31))
    # Late arrivals queue behind the pre-queue, first come first served.
    assert services.queue_join(room_id=room.pk, visitor="device:late1").number == 31
    assert services.queue_join(room_id=room.pk, visitor="device:late2").number == 32
    # Re-joining never changes a place.
    assert services.queue_join(room_id=room.pk, visitor="d:7").number == numbers["d:7"]

    call_command("queue_verify", room.event.slug)
    assert "match: 30 pre-queue numbers" in capsys.readouterr().out
    # The same check from the public endpoint's download alone.
    published = Client().get(f"/api/v1/events/{room.event.slug}/queue/shuffle/")
    assert published["Cache-Control"] == "public, max-age=60" and not published.cookies
    path = tmp_path / "shuffle.json"
    path.write_text(published.content.decode())
    call_command("queue_verify", file=str(path))
    assert "match: 30 pre-queue numbers" in capsys.readouterr().out
    assert published.json()["order"][0][0] == shuffle.pseudonym(ordered_visitor_0(early, room.seed))
    # A tampered export (two numbers swapped) is caught.
    export = room.shuffle_export
    export["order"][0][1], export["order"][1][1] = export["order"][1][1], export["order"][0][1]
    WaitingRoom.objects.filter(pk=room.pk).update(shuffle_export=export)
    with pytest.raises(CommandError, match="MISMATCH"):
        call_command("queue_verify", room.event.slug)


def test_permutation_is_deterministic_and_depends_on_the_seed():
    ids = [shuffle.pseudonym(f"device:{i}") for i in range(100)]
    assert shuffle.order("a" * 64, ids) == shuffle.order("a" * 64, list(reversed(ids)))
    assert shuffle.order("a" * 64, ids) != shuffle.order("b" * 64, ids)
    assert shuffle.verify({"commitment": shuffle.commitment("x"), "order": []}, "y")[0] is False


def _mean_position_of_earliest(numbers_by_arrival: list[list[int]], earliest: int) -> float:
    total = 0.0
    count = 0
    for numbers in numbers_by_arrival:
        size = len(numbers)
        for n in numbers[:earliest]:
            total += (n - 1) / (size - 1)
            count += 1
    return total / count


def test_early_arrival_gives_no_systematic_advantage():
    """200 simulated rooms x 50 visitors through the real Redis scripts: the
    mean normalised place of the 10 earliest arrivals is ~0.5 (uniform). The
    same statistic on arrival order is ~0.09, so the check can fail."""
    rooms, visitors, earliest = 200, 50, 10
    shuffled, arrival = [], []
    for room_id in range(900_000, 900_000 + rooms):
        state.init(room_id, {"phase": "pre", "tail": "0", "serving": "0"}, {})
        names = [f"device:{secrets.token_hex(6)}" for _ in range(visitors)]
        for i, name in enumerate(names):
            state.join(room_id, name, time.time() + i)
        services.room_shuffle_open(room_id=room_id, seed=secrets.token_hex(32))
        mapping = state.conn().hgetall(state.keys(room_id)["map"])
        shuffled.append([int(mapping[name.encode()]) for name in names])
        arrival.append(list(range(1, visitors + 1)))
    assert _mean_position_of_earliest(shuffled, earliest) == pytest.approx(0.5, abs=0.04)
    assert _mean_position_of_earliest(arrival, earliest) < 0.1  # the control fails the check
