"""Waits from join to admission, read off the room's snapshots."""

from __future__ import annotations

from sales.selectors import Snapshots, _queue_minutes, percentile, wait_seconds


def _snaps(points):
    t = [p[0] for p in points]
    tail = [p[1] for p in points]
    serving = [p[2] for p in points]
    counters = [{"joined": p[1], "admitted": p[2]} for p in points]
    return Snapshots(t, tail, serving, counters)


def test_a_steady_queue_waits_the_distance_between_the_curves():
    # One join a second from t=0; admission starts at t=50, one a second.
    points = [(float(t), t, max(t - 50, 0)) for t in range(0, 201, 10)]
    waits = wait_seconds(_snaps(points))
    assert waits and all(abs(w - 50) < 1e-6 for w in waits)
    assert percentile(waits, 50) == percentile(waits, 95) == 50


def test_a_drawn_prequeue_waits_from_the_draw_and_later_joins_from_their_join():
    # 100 numbers drawn at t=10 (the tail jumps), admitted 2 a second from t=20;
    # later joins one every second from t=20, admitted after the pre-queue.
    points = [(0.0, 0, 0), (10.0, 100, 0)]
    for t in range(20, 221, 10):
        points.append((float(t), 100 + (t - 20), min((t - 20) * 2, 100 + (t - 20))))
    waits = wait_seconds(_snaps(points), samples=10_000)
    # Number 100 (the last drawn) joined by t=10 and was admitted at t=70.
    assert max(waits[:100]) <= 60 + 1e-6
    assert min(waits[:100]) >= 10 - 1e-6
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.0
    assert percentile([], 95) is None


def test_minutes_add_up_to_the_counters_of_the_last_snapshot():
    points = [(float(t), t * 2, t) for t in range(0, 300, 10)]
    snaps = _snaps(points)
    minutes = _queue_minutes(snaps)
    assert sum(m["joined"] for m in minutes.values()) == points[-1][1]
    assert sum(m["admitted"] for m in minutes.values()) == points[-1][2]
    assert list(minutes.values())[-1]["waiting"] == points[-1][1] - points[-1][2]
