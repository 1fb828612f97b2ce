"""Waiting-room reads. The hot paths (status, public state, pass checks) read
Redis only: the room's settings are copied into its Redis state by the tick,
and slug/event -> room id lookups are cached (process memory, then Redis)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime

from django.core.cache import cache
from django.db.models import F, Q, Sum
from django.utils import timezone

from events.models import EventSeat, StandingArea
from queueing import state, tokens, wait
from queueing.exceptions import (
    PassEnded,
    PassExpired,
    PassInvalid,
    PassRequired,
    RoomNotFound,
    RoomRestarting,
    ShopFull,
    TokenInvalid,
)
from queueing.models import WaitingRoom
from queueing.purchases import purchases

_LOCAL_TTL = 10.0  # seconds a process trusts its own memo of a lookup
_CACHE_TTL = 60
_memo: dict[str, tuple[float, int]] = {}


@dataclass(frozen=True)
class QueuePass:
    room_id: int
    visitor: str  # the buyer key the pass is bound to
    expires_at: float  # unix time
    purchase_cap: int | None  # the phase's per-buyer ticket cap carried by the pass
    number: int = 0


def _lookup(key: str, load) -> int:
    hit = _memo.get(key)
    now = time.monotonic()
    if hit and hit[0] > now:
        return hit[1]
    value = cache.get(key)
    if value is None:
        value = load() or 0
        cache.set(key, value, _CACHE_TTL)
    _memo[key] = (now + _LOCAL_TTL, value)
    return value


def room_id_for_slug(slug: str) -> int:
    """The room id of an event slug, 0 if none (cached: no query per request)."""
    return _lookup(
        f"queue:slug:{slug}",
        lambda: WaitingRoom.objects.filter(event__slug=slug).values_list("pk", flat=True).first(),
    )


def room_id_for_event(event_id: int) -> int:
    return _lookup(
        f"queue:event:{event_id}",
        lambda: WaitingRoom.objects.filter(event_id=event_id).values_list("pk", flat=True).first(),
    )


def room_lookup_forget(*, slug: str, event_id: int) -> None:
    for key in (f"queue:slug:{slug}", f"queue:event:{event_id}"):
        cache.delete(key)
        _memo.pop(key, None)


def stock_remaining(*, event_id: int) -> int:
    """Tickets still sellable: available seats (expired holds count as
    available, DESIGN invariant 2) plus free standing places. Two aggregate
    queries, run by the tick once per second, never per poll."""
    seats = (
        EventSeat.objects.filter(event_id=event_id)
        .filter(
            Q(status=EventSeat.Status.AVAILABLE)
            | Q(status=EventSeat.Status.HELD, held_until__lt=timezone.now())
        )
        .count()
    )
    standing = StandingArea.objects.filter(event_id=event_id).aggregate(
        free=Sum(F("capacity") - F("held") - F("sold"))
    )["free"]
    return seats + (standing or 0)


def _public_state(st: dict[str, str]) -> str:
    if st.get("guard") != "1":
        return "off"
    if st.get("draining") == "1":
        return "closed"
    if st.get("sold_out") == "1":
        return "sold_out"
    if st.get("paused") == "1":
        return "paused"
    return "prequeue" if st.get("phase") in ("pre", "shuffling") else "open"


_PUBLIC = ("phase", "guard", "draining", "sold_out", "paused", "serving", "tail", "eff", "rate",
           "erate", "commitment", "seed", "left")  # fmt: skip


def _rate(st: dict[str, str]) -> int:
    """Admissions per minute the waits are computed from: the tick's smoothed
    rate (state.TICK, `erate`), which starts at the configured effective rate
    and follows the admissions actually made; before the first tick, the
    configured rate itself. Whole, as the public state publishes it, so the
    figures queue.js computes between polls equal the server's."""
    for name in ("erate", "eff", "rate"):
        if st.get(name):
            return round(float(st[name]))
    return 0


def room_public_state(*, room_id: int) -> dict:
    """What every waiting page polls: identical for everyone, cacheable 1 s."""
    values = state.conn().hmget(state.keys(room_id)["st"], _PUBLIC)
    st = {k: v.decode() for k, v in zip(_PUBLIC, values, strict=True) if v is not None}
    if not st:
        raise RoomRestarting()
    left = st.get("left")
    return {
        "state": _public_state(st),
        "serving": int(st.get("serving", 0)),
        "tail": int(st.get("tail", 0)),
        "rate_per_minute": _rate(st),
        "commitment": st.get("commitment", ""),
        "seed": st.get("seed") or None,
        "tickets_left": int(left) if left not in (None, "") else None,
    }


def room_live(*, room_id: int) -> dict:
    """A room's live numbers for staff (the on-sale console and admin's live
    page): Redis only, two round trips, whatever the crowd's size. Empty
    numbers (all 0) while the room has no state in Redis (before its first
    tick, or while a lost Redis is rebuilt)."""
    st = state.read(room_id)
    cnt = state.counters(room_id)
    tail, serving = int(st.get("tail", 0)), int(st.get("serving", 0))
    last_tick = float(st.get("last") or 0)
    return {
        "phase": st.get("phase", ""),
        "state": _public_state(st) if st else "",
        "paused": st.get("paused") == "1",
        "draining": st.get("draining") == "1",
        "sold_out": st.get("sold_out") == "1",
        "prequeue": cnt["prequeue"],
        "waiting": max(tail - serving, 0),
        "tail": tail,
        "serving": serving,
        "joined": cnt.get("joined", 0),
        "admitted": cnt.get("admitted", 0),
        "claimed": cnt.get("claimed", 0),
        "no_show": cnt.get("no_show", 0),
        "completed": cnt.get("completed", 0),
        "active": cnt["active"] + cnt["pending"],
        "rate_configured": int(float(st.get("rate") or 0)),
        "rate_effective": round(float(st.get("eff") or 0)),
        "rate_smoothed": round(float(st.get("erate") or 0)),
        "max_active": int(float(st.get("max") or 0)),
        "tickets_left": int(st["left"]) if st.get("left") not in (None, "") else None,
        "last_tick": last_tick or None,
        "series": state.series(room_id),
    }


def room_shuffle_export(*, slug: str) -> dict:
    """The public shuffle record of a room: commitment, and once the sale has
    opened the seed and the (sha256(visitor), number) list, to re-check."""
    room = WaitingRoom.objects.filter(event__slug=slug).first()
    if room is None:
        raise RoomNotFound()
    if not room.seed_revealed_at:
        return {"commitment": room.seed_hash, "seed": None, "base": None, "order": None}
    return {**room.shuffle_export, "seed": room.seed}


def join_status(*, joined) -> dict:
    """state / position / ETA for a join answer, from the fields the join script
    returned (no second round trip), unless the visitor is already admitted."""
    st, number = joined.room, joined.number
    serving = int(st.get("serving") or 0)
    if (number and number <= serving) or st.get("guard") != "1":
        status = queue_status(token=joined.token)
        return {k: status[k] for k in ("state", "position", "ahead", "eta_seconds")}
    public = _public_state(st)
    figures = wait.wait(number, serving, _rate(st)) if number else {}
    return {
        "state": public if public in ("paused", "closed", "sold_out") else "waiting",
        "position": figures.get("position"),
        "ahead": figures.get("ahead"),
        "eta_seconds": figures.get("eta_seconds"),
    }


def queue_status(
    *, token: str | None, now: float | None = None, counter: state.Counter | None = None
) -> dict:
    """A visitor's place from their queue token (Redis only, no database).

    state: waiting | admitted | paused | closed | sold_out. When admitted the
    answer carries a signed pass bound to the visitor. `counter`: the caller's
    rate counter, counted in the same round trip (state.counted_supported;
    state.CounterExceeded over its limit), once the token is known to be valid.
    """
    data = tokens.token_read(token or "")
    if data is None:
        raise TokenInvalid()
    now = time.time() if now is None else now
    room_id = int(data["r"])
    out = state.status(room_id, str(data["v"]), int(data["n"]), now, counter)
    if out["code"] == "missing":
        raise RoomRestarting()
    phase, number, serving = out["phase"], int(out["number"]), int(out["serving"])
    done, pexp = out["done"], out["pexp"]
    st = {name: out[name] for name in state.STATUS_FIELDS}
    # The visitor who has the place now: the token's own, or the account its
    # device's place was handed to at sign-in (state.HANDOVER).
    visitor = out["visitor"]
    st["phase"] = phase
    rate = _rate(st)
    left = st.get("left")
    figures = wait.wait(number, serving, rate) if number else {}
    body: dict = {
        "number": number or None,
        "position": figures.get("position"),
        "ahead": figures.get("ahead"),
        "eta_seconds": None,
        "tickets_left": int(left) if left not in (None, "") else None,
        "event_id": int(st.get("event") or 0),
    }
    if (number and number != int(data["n"])) or visitor != data["v"]:
        # Drawn by the shuffle (a token carrying the number survives a Redis
        # loss), or the place is now the account's: the token follows it.
        body["token"] = tokens.token_make(
            room_id=room_id, visitor=visitor, number=number, issued_at=now
        )
    cap = int(st["cap"]) if st.get("cap") else None
    body["cap"] = cap
    if st.get("guard") != "1":
        # The room does not guard sales now (mode off, or auto while quiet):
        # go and shop, no pass needed.
        body["state"] = "admitted"
        body["eta_seconds"] = 0
    elif done == "1":
        # The pass ended with a paid order: to buy more, join again at the
        # back (services.queue_rejoin), within the phase's per-buyer limit.
        body["state"] = "done"
    elif number and number <= serving and float(pexp) <= now:
        body["state"] = "expired"  # the time to buy ran out: join again at the back
    elif number and number <= serving:
        body["state"] = "admitted"
        body["pass"] = tokens.pass_make(
            room_id=room_id, visitor=visitor, number=number, expires_at=float(pexp), cap=cap
        )
        body["pass_expires_at"] = int(float(pexp))
        body["eta_seconds"] = 0
    else:
        public = _public_state(st)
        body["state"] = public if public in ("paused", "closed", "sold_out") else "waiting"
        if number:
            body["eta_seconds"] = figures["eta_seconds"]
        body["prequeue"] = phase in ("pre", "shuffling")
    return body


def shoppers_count(*, event_id: int) -> int:
    """Buyers shopping an event now, from Postgres: a live hold or an order
    awaiting payment. What wakes a room in mode auto (services._auto_toggle):
    only stock really taken counts, so a refused hold (rolled back) counts for
    nothing. One aggregate query (orders', queueing.purchases), run by the tick
    of auto rooms only."""
    return purchases().shoppers_count(event_id=event_id, now=timezone.now())


def buyer_limit_reached(*, event_id: int, buyer_key: str, cap: int | None) -> bool:
    """Has the buyer taken the guarded phase's per-buyer limit (held + ordered
    + paid, Purchases.tickets_taken: orders.services.holds.buyer_tickets_taken)?
    Then joining again would only lead to a refused hold: the waiting page
    says so instead."""
    if not cap:
        return False
    return purchases().tickets_taken(event_id=event_id, buyer_key=buyer_key) >= cap


def _paid_since(*, event_id: int, buyer_keys: set[str], since: float) -> bool:
    """Has the buyer an order for the event paid at or after `since` (a pass's
    first issue)? Then that pass has ended, from Postgres: the `done` set in
    Redis is written only after the payment commits (and is lost with Redis).
    Runs inside the hold's transaction, so a payment committed before this
    statement is seen; a hold whose check ran before the payment committed
    was made while the pass was still live (and its tickets still count
    against the limit, checked later in the same transaction)."""
    return purchases().paid_since(
        event_id=event_id, buyer_keys=buyer_keys, since=datetime.fromtimestamp(since, UTC)
    )


def _room_mode_from_db(room_id: int) -> str | None:
    return WaitingRoom.objects.filter(pk=room_id).values_list("mode", flat=True).first()


def pass_validate(*, event_id: int, buyer_key: str, token: str | None) -> QueuePass | None:
    """Check the queue pass for buying from a guarded phase of an event.

    Returns None when the event's waiting room does not guard sales right now
    (no room, or mode off, or auto mode while inactive), else the valid pass.
    Raises PassRequired (423) with no token, PassInvalid (423) for a forged or
    foreign pass, PassExpired (410). The first use of a pass claims a shopper
    slot (atomic in Redis, never past max_active_shoppers). One indexed
    Postgres read (a paid order since the pass was issued ends it, see
    _paid_since); the rest is cached lookups and Redis.
    """
    room_id = room_id_for_event(event_id)
    if not room_id:
        return None
    r = state.conn()
    ks = state.keys(room_id)
    guard, mode, pass_s, slug = (
        (v or b"").decode() for v in r.hmget(ks["st"], ["guard", "mode", "pass_s", "slug"])
    )
    # Every refusal names the waiting room page, which says the same thing
    # and offers what to do (join, join again, or see your place).
    where = {"queue_url": f"/e/{slug}/queue/"} if slug else {}
    now = time.time()
    if mode == "auto":
        if guard != "1":
            # The room sleeps: sell without a pass and touch no queue state.
            # This runs before the hold is decided, and Redis does not roll
            # back with it: counting the caller here made every refused hold
            # an "active shopper" (889 refused holds woke the room, and the
            # refused callers then bought without a pass). The tick counts who
            # is really shopping from Postgres instead (shoppers_count).
            return None
        # Awake: a valid pass or nothing, for everyone (holds made while the
        # room slept stay theirs; a new hold needs a pass like anyone's).
    elif guard != "1":
        if not mode and _room_mode_from_db(room_id) != "off":
            raise RoomRestarting()  # Redis lost; the next tick rebuilds the room
        return None
    if not token:
        raise PassRequired(details=where)
    data = tokens.pass_read(token)
    if data is None or int(data["r"]) != room_id:
        raise PassInvalid(details=where)
    if data["v"] != buyer_key and state.heir(room_id, data["v"]) != buyer_key:
        # Bound to another visitor, unless that visitor is this buyer's own
        # device whose place the account took over at sign-in (the claim
        # below still wants the number to be the account's place).
        raise PassInvalid(details=where)
    # Ended by a paid order, from Postgres: before the payment's commit has
    # reached Redis (pass_complete runs on commit), and after a Redis loss.
    # The pass's first issue is its signed expiry (to the millisecond) less
    # the pass time (the room's current one: a pass time changed by staff
    # since shifts it by the change).
    issued = float(data["e"]) - float(pass_s or state.pass_seconds_default())
    if _paid_since(event_id=event_id, buyer_keys={buyer_key, str(data["v"])}, since=issued):
        raise PassEnded(details=where)
    if float(data["e"]) <= now:
        raise PassExpired(details=where)  # the signed expiry rules, whatever Redis says
    result = state.claim(room_id, buyer_key, int(data["n"]), float(data["e"]), now)
    if result == "ended":
        # Ended with a paid order (or a place the buyer left for a new one).
        raise PassEnded(details=where)
    if result == "expired" or data["e"] <= now:
        raise PassExpired(details=where)
    if result == "full":
        raise ShopFull()
    if result == "elsewhere":
        raise PassInvalid(details=where)
    return QueuePass(room_id, buyer_key, float(data["e"]), data.get("c"), int(data["n"]))
