"""Waiting-room writes: room settings (Postgres, audited), and the live state
in Redis (join, admission tick, shuffle, pass completion, recovery)."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from events.models import SalePhase
from queueing import admissions, selectors, shuffle, state, tokens
from queueing.exceptions import BuyerLimitReached, RoomClosed, RoomNotOpen, RoomRestarting
from queueing.models import WaitingRoom, WaitingRoomSnapshot
from queueing.purchases import purchases
from ticketing import metrics
from ticketing.audit import AuditAction, audit_log

logger = logging.getLogger(__name__)

COUNTERS = ("joined", "admitted", "claimed", "no_show", "completed")
EDITABLE = (
    "mode",
    "prequeue_opens_at",
    "sale_opens_at",
    "admission_rate_per_minute",
    "max_active_shoppers",
    "pass_minutes",
    "no_show_grace_seconds",
    "auto_threshold",
    "expected_tickets_per_buyer",
    "paused",
    "draining",
)
# Staff actions in admin, as setting changes (so they are audited the same way).
ACTIONS = {
    "pause": {"paused": True},
    "resume": {"paused": False, "draining": False},
    # Drain: admit nobody new; shoppers already admitted finish their passes;
    # everyone still waiting is told the room is closed.
    "drain": {"draining": True},
}


def _json(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def room_create(*, event, actor: Any = None, **fields: Any) -> WaitingRoom:
    """Create an event's waiting room (the shuffle seed and its commitment with it)."""
    with transaction.atomic():
        room = WaitingRoom(event=event, **fields)
        room.full_clean(exclude=["seed_hash"])
        room.save()
        audit_log(
            action=AuditAction.QUEUE_ROOM_CREATED,
            obj=room,
            actor_user=actor,
            data={f: _json(getattr(room, f)) for f in EDITABLE} | {"commitment": room.seed_hash},
        )
        transaction.on_commit(lambda: room_push(room=room))
    return room


def room_copy(*, source_event, event, offset: timedelta, actor: Any = None) -> WaitingRoom | None:
    """Give `event` (a duplicate of `source_event`, events.services.event_duplicate)
    a waiting room with the source's settings and its times shifted by `offset`;
    a fresh seed and commitment, no live state. None when the source has none.
    Runs inside the duplicate's transaction (the event_duplicated signal)."""
    source = WaitingRoom.objects.filter(event=source_event).first()
    if source is None:
        return None
    fields = {f: getattr(source, f) for f in EDITABLE}
    fields["sale_opens_at"] = source.sale_opens_at + offset
    if source.prequeue_opens_at is not None:
        fields["prequeue_opens_at"] = source.prequeue_opens_at + offset
    # A copied room starts as rooms start: neither paused nor draining.
    fields |= {"paused": False, "draining": False}
    return room_create(event=event, actor=actor, **fields)


def room_update(*, room: WaitingRoom, changes: dict[str, Any], actor: Any = None) -> WaitingRoom:
    """Change a room's settings live; audited in the same transaction.

    Locks the room row (FOR UPDATE) so two staff edits apply one after the
    other; the new settings reach Redis after commit (room_push).
    """
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise ValueError(f"not editable: {sorted(unknown)}")
    with transaction.atomic():
        locked = WaitingRoom.objects.select_for_update().get(pk=room.pk)
        before = {f: getattr(locked, f) for f in changes}
        for field, value in changes.items():
            setattr(locked, field, value)
        locked.full_clean(exclude=["seed_hash", "event"])
        changed = [f for f in changes if before[f] != getattr(locked, f)]
        if changed:
            locked.save(update_fields=[*changed, "updated_at"])
            audit_log(
                action=AuditAction.QUEUE_ROOM_UPDATED,
                obj=locked,
                actor_user=actor,
                data={
                    f: {"old": _json(before[f]), "new": _json(getattr(locked, f))} for f in changed
                },
            )
            transaction.on_commit(lambda: room_push(room=locked))
    for field in changes:
        setattr(room, field, getattr(locked, field))
    return locked


def room_action(*, room: WaitingRoom, action: str, actor: Any = None) -> WaitingRoom:
    """pause / resume / drain (see ACTIONS)."""
    return room_update(room=room, changes=ACTIONS[action], actor=actor)


def _guarded_cap(room: WaitingRoom) -> int | None:
    phase = (
        SalePhase.objects.filter(
            event_id=room.event_id, requires_waiting_room=True, ends_at__gt=timezone.now()
        )
        .order_by("starts_at")
        .values_list("per_buyer_limit", flat=True)
        .first()
    )
    return phase


def _config(room: WaitingRoom, current_guard: str | None) -> dict[str, str]:
    if room.mode == WaitingRoom.Mode.ON:
        guard = "1"
    elif room.mode == WaitingRoom.Mode.OFF:
        guard = "0"
    else:
        guard = current_guard or "0"
    cap = _guarded_cap(room)
    return {
        "event": str(room.event_id),
        "slug": room.event.slug,
        "title": room.event.title,
        "mode": room.mode,
        "guard": guard,
        "rate": str(room.admission_rate_per_minute),
        "max": str(room.max_active_shoppers),
        "pass_s": str(room.pass_minutes * 60),
        "grace": str(room.no_show_grace_seconds),
        "thr": str(room.auto_threshold),
        "exp": str(room.expected_tickets_per_buyer),
        "cap": "" if cap is None else str(cap),
        "paused": "1" if room.paused else "0",
        "draining": "1" if room.draining else "0",
        "pq_at": str(room.prequeue_opens_at.timestamp() if room.prequeue_opens_at else 0),
        "sale_at": str(room.sale_opens_at.timestamp()),
        "commitment": room.seed_hash,
        "seed": room.revealed_seed or "",
    }


def room_state_ensure(*, room: WaitingRoom, now: float | None = None) -> bool:
    """Build the room's Redis state if absent: fresh, or from the latest snapshot
    after a Redis loss. Returns True when it was (re)built.

    Visitors who joined after that snapshot are not in it: the tail is moved
    past twice the last snapshot interval's joins so new numbers cannot clash
    with theirs, and their tokens re-register their numbers on the next status.
    """
    now = time.time() if now is None else now
    if state.exists(room.pk):
        return False
    admitted: dict[str, int] = {}
    paid: dict[str, str] = {}
    snaps = list(room.snapshots.order_by("-taken_at")[:2])
    if snaps:
        latest = snaps[0]
        joined_since = latest.tail - snaps[1].tail if len(snaps) > 1 else 0
        st = {
            "phase": "open" if latest.phase == "shuffling" else latest.phase,
            "tail": str(latest.tail + 2 * max(joined_since, 0) + 10),
            "serving": str(latest.serving),
            "last": str(now),
        }
        cnt = {k: str(v) for k, v in latest.counters.items()}
        # What the lost passes were, from Postgres (see state.STATUS): how far
        # the room had admitted and when, and who has paid since.
        st["rserv"] = str(latest.serving)
        admitted, paid = _recovery_records(room)
    else:
        phase = "pre" if now < room.sale_opens_at.timestamp() else "open"
        st = {"phase": phase, "tail": "0", "serving": "0", "last": str(now)}
        cnt = {}
    st.update(_config(room, None))
    built = state.init(room.pk, st, cnt, admitted, paid)
    if built:
        logger.info("queue room state built", extra={"room": room.pk, "from_snapshot": bool(snaps)})
    return built


def _recovery_records(room: WaitingRoom) -> tuple[dict[str, int], dict[str, str]]:
    """The passes' Postgres record for a rebuild after a Redis loss.

    admitted: for each serving the snapshots saw, the last time they saw it
    (unix s -> serving): a number n was admitted after the latest time the
    room served fewer than n, so a pass whose expiry was lost in Redis is
    given no more than it had. paid: buyer -> their latest paid_at for the
    event: a pass issued before it ended with that order.
    """
    admitted = {
        f"{row['at'].timestamp():.3f}": row["serving"]
        for row in room.snapshots.values("serving").annotate(at=Max("taken_at")).order_by()
    }
    paid = {
        buyer: f"{at.timestamp():.3f}"
        for buyer, at in purchases().last_paid(event_id=room.event_id).items()
    }
    return admitted, paid


def room_push(*, room: WaitingRoom) -> None:
    """Copy the room's settings into Redis and refresh the slug/event lookups."""
    room = WaitingRoom.objects.select_related("event").get(pk=room.pk)
    room_state_ensure(room=room)
    state.settings_write(room.pk, _config(room, state.field(room.pk, "guard") or "0"))
    if time.time() < draw_at(room):
        state.reopen_pre(room.pk)  # the sale was moved later (see state.REOPEN_PRE)
    selectors.room_lookup_forget(slug=room.event.slug, event_id=room.event_id)


@dataclass(frozen=True)
class JoinResult:
    token: str
    number: int  # 0 while in the pre-queue (the number is drawn at opening)
    room_id: int
    room: dict  # the room's state fields read by the same script (state.JOIN_FIELDS)


def queue_join(
    *,
    room_id: int,
    visitor: str,
    now: float | None = None,
    notify_as: str | None = None,
    counter: state.Counter | None = None,
) -> JoinResult:
    """Give the visitor a place (O(1) Redis, no database): the same place again
    for the same visitor. Before the sale opens, the visitor enters the
    pre-queue and gets a number from the shuffle at opening.

    `notify_as` is the partner customer (`partner:<slug>:<ref>`) to tell of
    the admission (queue.admitted) when the visitor key does not name one: a
    customer known by their phone (`phone:<digest>`, accounts.selectors).

    `counter` is the caller's rate counter (the API's throttle), counted in
    the same round trip (state.counted_supported): over its limit
    state.CounterExceeded, and nothing joined.
    """
    now = time.time() if now is None else now
    room = state.join(room_id, visitor, now, counter)
    code, n = room["code"], int(room["number"])
    if code == "missing":
        raise RoomRestarting()
    if code == "not_open":
        raise RoomNotOpen()
    if code == "closed":
        raise RoomClosed()
    number = n if code == "n" else 0
    watched = notify_as or visitor
    if number and admissions.is_partner_visitor(watched) and admissions.admissions_listened():
        state.watch(room_id, watched, number)
    token = tokens.token_make(room_id=room_id, visitor=visitor, number=number, issued_at=now)
    return JoinResult(token=token, number=number, room_id=room_id, room=room)


def queue_rejoin(
    *, room_id: int, visitor: str, now: float | None = None, notify_as: str | None = None
) -> JoinResult:
    """Join again after the pass ended: the rule for a second purchase.

    A pass ends when its order is paid (pass_complete) or when its time runs
    out. The buyer may then join again, at the BACK: a new number after
    everyone already waiting, exactly what a fresh arrival would get, never
    the old number (state.REJOIN; old tokens and passes stay void), and buy
    again within the phase's per-buyer limit, which the holds enforce
    (held + awaiting payment + paid). A buyer who already has the limit is
    told so here (BuyerLimitReached) instead of being sent to the back of
    the queue for nothing. A visitor whose place is still live keeps it; one
    with no place joins normally. Redis, plus one read of the buyer's orders.
    """
    now = time.time() if now is None else now
    st = state.read(room_id)
    if not st:
        raise RoomRestarting()
    cap = int(st["cap"]) if st.get("cap") else None
    if selectors.buyer_limit_reached(
        event_id=int(st.get("event") or 0), buyer_key=visitor, cap=cap
    ):
        raise BuyerLimitReached()
    rejoined = state.rejoin(room_id, visitor, now)
    code, n = rejoined["code"], int(rejoined["number"])
    if code == "none":
        return queue_join(room_id=room_id, visitor=visitor, now=now, notify_as=notify_as)
    if code == "missing":
        raise RoomRestarting()
    if code == "closed":
        raise RoomClosed()
    watched = notify_as or visitor
    if admissions.is_partner_visitor(watched) and admissions.admissions_listened():
        state.watch(room_id, watched, n)
    token = tokens.token_make(room_id=room_id, visitor=visitor, number=n, issued_at=now)
    return JoinResult(token=token, number=n, room_id=room_id, room=state.read(room_id))


def room_shuffle_open(*, room_id: int, seed: str) -> dict | None:
    """Turn the pre-queue into numbers by the documented permutation (see
    queueing/shuffle.py). Redis only; idempotent and resumable: a crash between
    steps is finished by the next tick. Returns the public export once done.
    """
    state.close_pre(room_id)
    st = state.read(room_id)
    if st.get("phase") != "shuffling":
        return None
    base = int(st.get("base") or 0)
    by_pseudonym = {shuffle.pseudonym(v): v for v in state.prequeue(room_id)}
    ordered = shuffle.order(seed, list(by_pseudonym))
    pairs = [(p, base + i) for i, p in enumerate(ordered, start=1)]
    state.assign(room_id, [(by_pseudonym[p], n) for p, n in pairs])
    if admissions.admissions_listened():
        for p, n in pairs:
            if admissions.is_partner_visitor(by_pseudonym[p]):
                state.watch(room_id, by_pseudonym[p], n)
    state.finish(room_id, seed)
    return {"commitment": shuffle.commitment(seed), "base": base, "order": pairs}


def _room_open(*, room: WaitingRoom) -> None:
    export = room_shuffle_open(room_id=room.pk, seed=room.seed)
    if export is None:
        return
    with transaction.atomic():
        WaitingRoom.objects.filter(pk=room.pk).update(
            seed_revealed_at=timezone.now(), shuffle_export=export
        )
        audit_log(
            action=AuditAction.QUEUE_SHUFFLE_REVEALED,
            obj=room,
            actor="system:tick",
            data={"commitment": export["commitment"], "prequeue": len(export["order"])},
        )
    room.seed_revealed_at = timezone.now()
    state.settings_write(room.pk, {"seed": room.seed})


def room_snapshot(*, room: WaitingRoom, now: float) -> WaitingRoomSnapshot:
    """Copy the counters to Postgres (recovery) and to the staff chart series."""
    st = state.read(room.pk)
    cnt = state.counters(room.pk)
    snap = WaitingRoomSnapshot.objects.create(
        room=room,
        phase=st.get("phase", "open"),
        tail=int(st.get("tail", 0)),
        serving=int(st.get("serving", 0)),
        counters={k: cnt.get(k, 0) for k in COUNTERS},
    )
    point = {"t": int(now), "waiting": max(int(st.get("tail", 0)) - int(st.get("serving", 0)), 0)}
    point |= {k: cnt.get(k, 0) for k in ("admitted", "active", "no_show", "completed", "prequeue")}
    state.series_push(room.pk, point)
    state.settings_write(room.pk, {"snap_at": str(now)})
    return snap


def _auto_toggle(*, room: WaitingRoom, st: dict[str, str], cnt: dict[str, int]) -> None:
    """Mode auto: on above the threshold of active shoppers; off once nobody
    waits and the shop is back under the threshold (hysteresis: no flapping).

    Active shoppers: those with an admitted pass (`act` + `pend`), or, what
    a sleeping room has instead, the buyers holding stock or an order awaiting
    payment in Postgres (selectors.shoppers_count) — never mere attempts, so
    refused holds cannot wake the room. The larger of the two: a pass holder
    who holds seats is in both."""
    waiting = int(st.get("tail", 0)) - int(st.get("serving", 0))
    busy = max(cnt["active"] + cnt["pending"], selectors.shoppers_count(event_id=room.event_id))
    guard = st.get("guard") == "1"
    new = guard
    if not guard and busy > room.auto_threshold:
        new = True
    elif guard and waiting <= 0 and busy < room.auto_threshold:
        new = False
    if new != guard:
        # Holds and orders already made keep going; a new hold needs a pass.
        state.settings_write(room.pk, {"guard": "1" if new else "0"})
        with transaction.atomic():
            action = AuditAction.QUEUE_AUTO_ON if new else AuditAction.QUEUE_AUTO_OFF
            audit_log(action=action, obj=room, actor="system:tick")


def draw_at(room: WaitingRoom) -> float:
    """When the pre-queue is drawn (unix seconds): QUEUE_DRAW_LEAD_SECONDS
    before the sale opens. Admission itself waits for the opening (TICK)."""
    return room.sale_opens_at.timestamp() - settings.QUEUE_DRAW_LEAD_SECONDS


def room_tick(*, room: WaitingRoom, now: float | None = None) -> dict[str, str]:
    """One admission step for one room (see state.TICK: its named answer,
    `admitted` and the counters after it). Safe to run twice at once."""
    now = time.time() if now is None else now
    room_state_ensure(room=room, now=now)
    state.settings_write(room.pk, _config(room, state.field(room.pk, "guard") or "0"))
    st = state.read(room.pk)
    if st.get("phase") != "open" and now >= draw_at(room):
        _room_open(room=room)
    remaining = selectors.stock_remaining(event_id=room.event_id)
    result = state.tick(room.pk, now, remaining)
    st = state.read(room.pk)
    cnt = state.counters(room.pk)
    serving = int(st.get("serving", 0))
    _partners_admitted(room=room, serving=serving, now=now)
    metrics.queue_room_observe(
        room=room.event.slug,
        waiting=max(int(st.get("tail", 0)) - serving, 0),
        admitted=serving,
        active=cnt["active"] + cnt["pending"],
    )
    if room.mode == WaitingRoom.Mode.AUTO:
        _auto_toggle(room=room, st=st, cnt=cnt)
    if now - float(st.get("snap_at", 0)) >= settings.QUEUE_SNAPSHOT_SECONDS:
        room_snapshot(room=room, now=now)
    return result


def _partners_admitted(*, room: WaitingRoom, serving: int, now: float) -> None:
    """The watched partner customers now admitted, recorded in Postgres by
    the listeners (queueing.admissions), then no longer watched."""
    if not admissions.admissions_listened():
        return
    told = state.watched_admitted(room.pk, serving)
    if not told:
        return
    claim_by = datetime.fromtimestamp(now + room.no_show_grace_seconds, tz=UTC)
    with transaction.atomic():
        admissions.admissions_announce(
            [
                admissions.Admission(
                    event_id=room.event_id,
                    event_slug=room.event.slug,
                    visitor=visitor,
                    number=number,
                    claim_by=claim_by,
                )
                for visitor, number in told
            ]
        )
    state.unwatch(room.pk, told)


def rooms_tick(*, now: float | None = None) -> int:
    """The beat task's body: tick every room that is not off."""
    rooms = WaitingRoom.objects.exclude(mode=WaitingRoom.Mode.OFF).select_related("event")
    count = 0
    for room in rooms:
        try:
            room_tick(room=room, now=now)
            count += 1
        except Exception:
            logger.exception("queue tick failed", extra={"room": room.pk})
    return count


def pass_complete(*, event_id: int, buyer_key: str) -> None:
    """The buyer's order was paid: end their pass and free its shopper slot.

    Called by orders' order_paid receiver, after the commit (it writes Redis).
    """
    room_id = selectors.room_id_for_event(event_id)
    if room_id:
        state.complete(room_id, buyer_key)


def queue_handover(*, from_visitor: str, to_visitor: str) -> dict[int, str]:
    """A device's places and passes become the account's that signed in on it.

    Called at every sign-in (queueing.signals) and again by the waiting page
    when it still finds the device's token (a sign-in during the draw, or a
    Redis hiccup at sign-in): idempotent. One place per person: where the
    account already has a place in a room, the better one is kept (a live
    place over an ended one, else the lower number) and the other is dropped
    (state.HANDOVER). Redis only; rooms whose state is not built are skipped.
    Returns room id -> what happened, for the rooms where anything did.
    """
    if from_visitor == to_visitor:
        return {}
    done: dict[int, str] = {}
    for room_id in WaitingRoom.objects.exclude(mode=WaitingRoom.Mode.OFF).values_list(
        "pk", flat=True
    ):
        outcome = state.handover(room_id, from_visitor, to_visitor)
        if outcome not in ("none", "missing"):
            done[room_id] = outcome
    if done:
        logger.info("queue places handed over", extra={"rooms": sorted(done), "to": to_visitor})
    return done
