"""Simulated buyers: one coroutine per visitor, written against /work/shared/API.md.

A visitor joins the waiting room (most before the sale opens), waits the way
the real waiting page does (DESIGN.md polling budget), and once admitted holds
stock, orders, pays through the sandbox gateway and fetches the tickets.

Waiting: the visitor learns its number once (from the join answer, or with one
per-visitor status call after the draw, spread over a window that grows with
the crowd, because pre-queue numbers are given out by the shuffle a minute
before the opening; static/js/queue.js waits the same way), then polls only the public
state (`serving`, `rate_per_minute`; micro-cached by nginx), computes its own
position, and asks for its own status only when `serving` has reached its
number. Poll intervals grow with the estimated wait (a third of it, 1-60 s)
and carry ±20 % jitter.

Everything is bounded: each visitor makes a limited number of attempts, every
wait has a ceiling, and the whole population stops at `deadline` or when the
stock is gone (`Run.stock_gone`, set by the sampler in onsale.py, playing the
room's "sold out" announcement).
"""

from __future__ import annotations

import asyncio
import math
import random
import re
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from bench.common import Client, Jar

API = "/api/v1"

QUANTITIES = (1, 2, 3, 4)
QUANTITY_WEIGHTS = (15, 35, 30, 20)  # mean 2.55 tickets per buyer
HOLD_MODES = ("best", "seats", "standing")
HOLD_MODE_WEIGHTS = (60, 25, 15)
# What a buyer does at the payment step.
PAY_PLANS = (
    "ok",
    "3ds",
    "decline_then_ok",
    "insufficient_gives_up",
    "abandon_cancel",
    "abandon_walkaway",
)
PAY_PLAN_WEIGHTS = (86, 3, 4, 2, 4, 1)

CARD_OK = "4400430000000001"  # partner-bank Visa: passes every card rule
CARD_DECLINED = "4000000000000002"
CARD_INSUFFICIENT = "4000000000009995"
CARD_3DS = "4000000000003220"
CODE_3DS = "123456"

# The room is shut for good: waiting visitors go home.
CLOSED_STATES = {"closed", "ended", "finished"}
# The room says nothing is left, but stock can come back (expired holds,
# declined payments): waiting visitors stay and look again slowly.
SOLD_OUT = "sold_out"
SOLD_OUT_POLL_SECONDS = 10.0
PAID = "paid"
ORDER_DEAD = {"cancelled", "expired", "refunded"}
_CSRF = re.compile(rb'name="csrfmiddlewaretoken" value="([^"]+)"')


@dataclass
class Sale:
    """The event under test, as the bench prepared it."""

    slug: str
    capacity: int
    open_at: float  # time.monotonic() of the sale's opening
    # What POST holds/ takes as `event`: API.md shows `{event, ...}` without
    # saying slug or id; the slug unless told otherwise (onsale.py --hold-event-by).
    event_ref: str | int | None = None
    # The pre-queue is drawn this long before the opening (QUEUE_DRAW_LEAD_SECONDS).
    draw_lead: float = 0.0

    @property
    def draw_at(self) -> float:
        return self.open_at - self.draw_lead

    @property
    def hold_event(self) -> str | int:
        return self.slug if self.event_ref is None else self.event_ref


class Announcement:
    """What asyncio.Event is to the visitors (is_set, set, wait), plus
    `nap(seconds)`: sleep that long, or less when the announcement comes.

    Each napper costs one future and one timer, kept in a set (dropped in
    O(1)); asyncio.Event.wait() under asyncio.timeout costs a timeout context
    and a deque.remove() over every other waiter (40,000) each time one wakes.
    """

    def __init__(self) -> None:
        self._set = False
        self._nappers: set[asyncio.Future] = set()

    def is_set(self) -> bool:
        return self._set

    def set(self) -> None:
        if self._set:
            return
        self._set = True
        for future in self._nappers:
            if not future.done():
                future.set_result(True)
        self._nappers.clear()

    async def wait(self) -> bool:
        return await self.nap(math.inf)

    async def nap(self, seconds: float) -> bool:
        """True when the announcement came (before or during the nap)."""
        if self._set:
            return True
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._nappers.add(future)
        timer = loop.call_later(seconds, _wake, future) if seconds < math.inf else None
        try:
            return await future
        finally:
            if timer is not None:
                timer.cancel()
            self._nappers.discard(future)


def _wake(future: asyncio.Future) -> None:
    if not future.done():
        future.set_result(False)


@dataclass
class Run:
    client: Client
    sale: Sale
    seed: int
    deadline: float  # time.monotonic()
    # The waiting pages' public-state polls (cached by nginx) go through their
    # own connections, as 40,000 phones would: never queued in the client
    # behind buyers' requests waiting on Django. None: `client`.
    state_client: Client | None = None
    outcomes: Counter = field(default_factory=Counter)
    refusals: Counter = field(default_factory=Counter)  # 409s of POST holds/ by kind:code
    plans: Counter = field(default_factory=Counter)  # what buyers did at the payment step
    tickets: int = 0
    buyers: int = 0
    walkaway_places: int = 0  # held by visitors who closed the tab: wait for expiry
    paid_at: list[float] = field(default_factory=list)  # monotonic, one per paid order
    stock_gone: Announcement = field(default_factory=Announcement)
    state: dict = field(default_factory=dict)  # the last public state any visitor saw


@dataclass
class Visitor:
    index: int
    rng: random.Random
    cookies: Jar = field(default_factory=Jar)
    token: str | None = None
    number: int | None = None  # place in the room's sequence, once known
    queue_pass: str | None = None
    order_token: str | None = None

    @property
    def order_headers(self) -> dict[str, str]:
        return {"X-Order-Token": self.order_token} if self.order_token else {}

    @property
    def queue_headers(self) -> dict[str, str]:
        headers = {}
        if self.token:
            headers["X-Queue-Token"] = self.token
        if self.queue_pass:
            headers["X-Queue-Pass"] = self.queue_pass
        return headers


def poll_interval(
    rng: random.Random, *, ahead: float | None, rate_per_minute: float, until_draw: float
) -> float:
    """Seconds until the next public-state poll: a third of the expected wait,
    between 1 and 60 s (before the draw: every 60 s, and at the draw), ±20 %."""
    if until_draw > 0:
        # The page knows when the pre-queue is drawn: it only looks once a
        # minute for a change of plan, and wakes at the draw itself.
        base = min(60.0, until_draw) if until_draw > 1 else 1.0
    elif ahead is None:
        base = 2.0
    else:
        per_second = max(rate_per_minute / 60, 1.0)
        base = min(60.0, max(1.0, ahead / per_second / 3))
    return base * rng.uniform(0.8, 1.2)


def pick_adjacent(seats: list, quantity: int, rng: random.Random) -> list | None:
    """Ids of `quantity` available seats side by side in one row, or None.

    `seats` rows are API.md's `[id, row, number, x, y, tier, status]` (dicts
    with those keys are accepted too)."""
    rows: dict = {}
    for seat in seats:
        if isinstance(seat, dict):
            sid, row, number, status = (
                seat.get("id"),
                seat.get("row"),
                seat.get("number"),
                seat.get("status"),
            )
        else:
            sid, row, number, status = seat[0], seat[1], seat[2], seat[6]
        if status == "available":
            rows.setdefault(row, []).append((number, sid))
    runs = []
    for members in rows.values():
        members.sort()
        for start in range(len(members) - quantity + 1):
            block = members[start : start + quantity]
            if block[-1][0] - block[0][0] == quantity - 1:
                runs.append([sid for _, sid in block])
    return rng.choice(runs) if runs else None


def _sections(availability) -> list[dict]:
    if isinstance(availability, dict):
        availability = availability.get("sections", [])
    return [s for s in availability or [] if isinstance(s, dict) and "id" in s]


def _available(section: dict) -> int:
    value = section.get("available", section.get("available_count", 0))
    return value if isinstance(value, int) else 0


def _is_standing(section: dict) -> bool:
    return section.get("kind", section.get("type")) == "standing"


# The place rule is the room's, defined by queueing/wait.py (position =
# number - serving); the bench keeps these two small inversions of it because
# it is a client of API.md, whose join/status answers promise `position` but
# not `number` (kassa sends both; bench/fake_server.py, API.md's shape, only
# the position), and because between polls it knows only the public state.
def _number_after(position, serving) -> int | None:
    if isinstance(position, int) and isinstance(serving, int):
        return position + serving
    return None


# --- the waiting room ----------------------------------------------------------------


async def public_state(run: Run) -> dict:
    r = await (run.state_client or run.client).request(
        "GET", f"{API}/events/{run.sale.slug}/queue/state/", endpoint="queue.state"
    )
    state = r.json() if r.status == 200 else None
    if isinstance(state, dict):
        run.state = state
        return state
    return run.state


async def my_status(run: Run, v: Visitor) -> dict:
    r = await run.client.request(
        "GET",
        f"{API}/queue/status/",
        endpoint="queue.status",
        cookies=v.cookies,
        headers=v.queue_headers,
    )
    body = r.json() if r.status == 200 else None
    return body if isinstance(body, dict) else {}


def _take_status(v: Visitor, body: dict, serving) -> str | None:
    """Learn from a join/status answer; returns the pass when admitted.

    A `token` in the answer replaces ours (the room refreshes it once the
    shuffle has drawn our number); a `number`, when given, is our place
    outright, else it is derived from `position` and the serving counter."""
    if isinstance(body.get("token"), str) and body["token"]:
        v.token = body["token"]
    if body.get("pass"):
        v.queue_pass = body["pass"]
        return v.queue_pass
    number = body.get("number")
    if not isinstance(number, int) or number <= 0:
        number = _number_after(body.get("position"), serving)
    if number is not None:
        v.number = number
    return None


async def wait_for_admission(run: Run, v: Visitor, joined: dict) -> str | None:
    if _take_status(v, joined, run.state.get("serving")):
        return v.queue_pass
    if joined.get("state") in CLOSED_STATES:
        run.outcomes["room_closed"] += 1
        return None
    asked_after_draw = False
    while True:
        if run.stock_gone.is_set():
            run.outcomes["left_sold_out"] += 1
            return None
        if time.monotonic() > run.deadline:
            run.outcomes["left_deadline"] += 1
            return None
        state = await public_state(run)
        if state.get("state") in CLOSED_STATES:
            run.outcomes["room_closed"] += 1
            return None
        serving = state.get("serving")
        until_draw = run.sale.draw_at - time.monotonic()
        drawn = until_draw <= 0 and state.get("state") != "prequeue"
        due = v.number is not None and isinstance(serving, int) and serving >= v.number
        if (v.number is None and drawn and not asked_after_draw) or due:
            if v.number is None:
                # Numbers are drawn before opening: the page spreads its one status
                # call over a window that grows with the crowd it sees in the
                # public state (~1 s per 800 people in line, 5-45 s), so the
                # draw does not bring every waiting page to Django at once.
                crowd = state.get("tail") if isinstance(state.get("tail"), int) else 0
                window = min(45.0, max(5.0, crowd / 800))
                await asyncio.sleep(v.rng.uniform(0, window))
                asked_after_draw = True
            body = await my_status(run, v)
            if body.get("state") in CLOSED_STATES:
                run.outcomes["room_closed"] += 1
                return None
            if _take_status(v, body, serving):
                return v.queue_pass
            if due and v.number is not None and v.number <= serving:
                v.number = serving + 1  # status still says waiting: look again soon
        # position = number - serving (queueing/wait.py), unclamped: poll_interval floors it.
        ahead = v.number - serving if v.number is not None and isinstance(serving, int) else None
        rate = state.get("rate_per_minute") or 60
        interval = poll_interval(
            v.rng, ahead=ahead, rate_per_minute=float(rate), until_draw=until_draw
        )
        # Sleep, but leave at once when the sell-out is announced (the bench
        # stops when the stock is gone, not at the slowest poller's next look).
        if state.get("state") == SOLD_OUT:
            interval = max(interval, SOLD_OUT_POLL_SECONDS * v.rng.uniform(0.8, 1.2))
        interval = min(interval, max(0.0, run.deadline - time.monotonic()) + 0.1)
        await run.stock_gone.nap(interval)


# --- buying -----------------------------------------------------------------------------


async def _availability(run: Run, v: Visitor) -> list[dict]:
    r = await run.client.request(
        "GET",
        f"{API}/events/{run.sale.slug}/availability/",
        endpoint="availability",
        cookies=v.cookies,
    )
    return _sections(r.json()) if r.status == 200 else []


async def hold_payload(run: Run, v: Visitor, mode: str, quantity: int) -> dict:
    """The body of POST holds/ for this mode, falling back to best-available
    when the map offers nothing that fits."""
    event = run.sale.hold_event
    best = {"event": event, "best_available": {"quantity": quantity, "together": True}}
    if mode == "best":
        return best
    sections = await _availability(run, v)
    if mode == "standing":
        areas = [s for s in sections if _is_standing(s) and _available(s) >= quantity]
        if areas:
            area = v.rng.choice(areas)
            return {"event": event, "standing": {"section": area["id"], "quantity": quantity}}
        return best
    seated = [s for s in sections if not _is_standing(s) and _available(s) >= quantity]
    if not seated:
        return best
    section = v.rng.choices(seated, weights=[_available(s) for s in seated])[0]
    r = await run.client.request(
        "GET",
        f"{API}/events/{run.sale.slug}/availability/?section={section['id']}",
        endpoint="availability.section",
        cookies=v.cookies,
    )
    body = r.json() if r.status == 200 else None
    seats = body.get("seats") if isinstance(body, dict) else None
    if not seats and isinstance(body, dict):
        seats = next((s.get("seats") for s in _sections(body) if s.get("seats")), None)
    ids = pick_adjacent(seats or [], quantity, v.rng)
    return {"event": event, "seats": ids} if ids else best


async def fallback_payload(run: Run, v: Visitor, quantity: int) -> dict:
    """After a refusal the buyer looks at the map again: standing when the
    floor still has room for the whole party, else the best seats together."""
    sections = await _availability(run, v)
    areas = [s for s in sections if _is_standing(s) and _available(s) >= quantity]
    if areas:
        area = v.rng.choice(areas)
        return {
            "event": run.sale.hold_event,
            "standing": {"section": area["id"], "quantity": quantity},
        }
    return {
        "event": run.sale.hold_event,
        "best_available": {"quantity": quantity, "together": True},
    }


async def take_hold(run: Run, v: Visitor, quantity: int) -> dict | None:
    mode = v.rng.choices(HOLD_MODES, weights=HOLD_MODE_WEIGHTS)[0]
    refreshed_pass = False
    payload = await hold_payload(run, v, mode, quantity)
    for attempt in range(4):
        r = await run.client.request(
            "POST",
            f"{API}/holds/",
            endpoint=f"holds.{_kind(payload)}",
            cookies=v.cookies,
            json_body=payload,
            headers={**v.queue_headers, "Idempotency-Key": _key()},
        )
        if r.status == 201:
            return r.json()
        if r.status in (410, 423) and not refreshed_pass:
            refreshed_pass = True
            _take_status(v, await my_status(run, v), None)
            continue
        if r.status == 429:
            await asyncio.sleep(min(float(r.headers.get("Retry-After", "1") or 1), 5.0))
            continue
        if r.status != 409:
            run.outcomes[f"hold_failed_{r.status}"] += 1
            return None
        body = r.json()
        error = body.get("error") if isinstance(body, dict) else None
        code = error.get("code") if isinstance(error, dict) else None
        run.refusals[f"{_kind(payload)}:{code}"] += 1
        if attempt >= 1:  # settle for fewer
            quantity = max(1, quantity - 1)
        payload = await fallback_payload(run, v, quantity)
    run.outcomes["hold_conflict_gave_up"] += 1
    return None


def _kind(payload: dict) -> str:
    return "seats" if "seats" in payload else "standing" if "standing" in payload else "best"


def _key() -> str:
    return uuid.uuid4().hex


def _gateway_target(run: Run, url: str) -> str:
    """Where to send a gateway request: a path on our base when the gateway is
    served by the site (behind nginx), the URL itself when the acquirer runs as
    a process of its own (another port)."""
    parts = urlsplit(url)
    if parts.netloc and parts.netloc != urlsplit(run.client.base_url).netloc:
        return url
    return parts.path + (f"?{parts.query}" if parts.query else "")


async def gateway_pay(run: Run, v: Visitor, redirect_url: str, card: str) -> str:
    """Fill in the sandbox card form: 'accepted', 'declined' or 'error'."""
    path = _gateway_target(run, redirect_url)
    form = await run.client.request("GET", path, endpoint="gateway.form", cookies=v.cookies)
    if form.status != 200:
        return "error"
    fields = {
        "card_number": card,
        "exp_month": "12",
        "exp_year": "2030",
        "cvc": "123",
        "holder": f"BUYER {v.index}",
    }
    headers = {"Accept": "application/json"}
    token = _CSRF.search(form.body)
    if token:
        fields["csrfmiddlewaretoken"] = token.group(1).decode()
        headers["X-CSRFToken"] = fields["csrfmiddlewaretoken"]
    r = await run.client.request(
        "POST", path, endpoint="gateway.pay", cookies=v.cookies, headers=headers, form=fields
    )
    location = r.headers.get("Location", "") if r.status in (301, 302, 303) else ""
    body = r.json() if r.status < 300 else None
    status = body.get("status", "") if isinstance(body, dict) else ""
    if "3ds" in location or status in ("3ds_required", "requires_action", "3ds"):
        # JSON clients get {"status": "3ds", "redirect_url": ...}; browsers a 303.
        next_url = body.get("redirect_url") if isinstance(body, dict) else None
        three_ds = location or next_url or path.replace("/pay/", "/3ds/")
        await run.client.request(
            "GET", _gateway_target(run, three_ds), endpoint="gateway.3ds", cookies=v.cookies
        )
        r = await run.client.request(
            "POST",
            _gateway_target(run, three_ds),
            endpoint="gateway.3ds",
            cookies=v.cookies,
            headers=headers,
            form={
                "code": CODE_3DS,
                **({"csrfmiddlewaretoken": fields["csrfmiddlewaretoken"]} if token else {}),
            },
        )
        body = r.json() if r.status < 300 else None
        status = body.get("status", "") if isinstance(body, dict) else ""
    if r.status == 422 or status in ("declined", "failed", "refused"):
        return "declined"
    if 200 <= r.status < 400:
        return "accepted"
    return "error"


async def wait_paid(run: Run, v: Visitor, order_path: str) -> str:
    """Wait for the callback like the return page does, up to 90 s (callbacks
    retry): one read that the site answers when the payment settles
    (`?wait=15`, orders/waits.py). A quick answer still pending (the server
    granted no wait, or a declined card woke it) is read again after 1-3 s,
    as the page's old polling did."""
    waited, delay = 0.0, 1.0
    while waited < 90 and time.monotonic() < run.deadline + 60:
        started = time.monotonic()
        r = await run.client.request(
            "GET",
            f"{order_path}?wait=15",
            endpoint="orders.read",
            cookies=v.cookies,
            headers=v.order_headers,
        )
        body = r.json() if r.status == 200 else None
        status = body.get("status") if isinstance(body, dict) else None
        if status == PAID or status in ORDER_DEAD:
            return status
        took = time.monotonic() - started
        if took < 1.0:
            await asyncio.sleep(delay)
            delay = min(delay * 1.3, 3.0)
        waited += time.monotonic() - started
    return "timeout"


async def cancel(run: Run, v: Visitor, order_id) -> None:
    await run.client.request(
        "POST",
        f"{API}/orders/{order_id}/cancel/",
        endpoint="orders.cancel",
        cookies=v.cookies,
        headers=v.order_headers,
        json_body={},
    )


async def start_payment(run: Run, v: Visitor, order: dict) -> dict | None:
    """POST orders/{id}/payments/: the payment with its gateway redirect, or None."""
    r = await run.client.request(
        "POST",
        f"{API}/orders/{order['id']}/payments/",
        endpoint="payments.start",
        cookies=v.cookies,
        headers={**v.order_headers, "Idempotency-Key": _key()},
        json_body={"provider": "sandbox", "return_url": f"/orders/{order.get('code', '')}/"},
    )
    payment = r.json() if r.status in (200, 201) else None
    if not isinstance(payment, dict) or not payment.get("redirect_url"):
        run.outcomes[f"payment_start_failed_{r.status}"] += 1
        return None
    return payment


async def buy(run: Run, v: Visitor) -> None:
    quantity = v.rng.choices(QUANTITIES, weights=QUANTITY_WEIGHTS)[0]
    hold = await take_hold(run, v, quantity)
    if not hold:
        return
    r = await run.client.request(
        "POST",
        f"{API}/orders/",
        endpoint="orders.create",
        cookies=v.cookies,
        headers={**v.queue_headers, "Idempotency-Key": _key()},
        json_body={
            "hold": hold["id"],
            "email": f"buyer{v.index}@bench.kassa.kz",
            "name": f"Buyer {v.index}",
        },
    )
    if r.status != 201:
        run.outcomes[f"order_failed_{r.status}"] += 1
        await run.client.request(
            "DELETE", f"{API}/holds/{hold['id']}/", endpoint="holds.release", cookies=v.cookies
        )
        return
    order = r.json()
    order_path = f"{API}/orders/{order['id']}/"
    if order.get("access_token"):  # the order's own link, for buyers without an account
        v.order_token = order["access_token"]
    plan = v.rng.choices(PAY_PLANS, weights=PAY_PLAN_WEIGHTS)[0]
    run.plans[plan] += 1
    payment = await start_payment(run, v, order)
    if payment is None:
        await cancel(run, v, order["id"])
        return
    if plan == "abandon_walkaway":  # closed the tab: the hold expires on its own
        run.walkaway_places += int(hold.get("quantity") or len(hold.get("items") or []) or quantity)
        run.outcomes["abandoned_walkaway"] += 1
        return
    if plan == "abandon_cancel":
        run.outcomes["abandoned_cancel"] += 1
        await cancel(run, v, order["id"])
        return
    first_card = {
        "ok": CARD_OK,
        "3ds": CARD_3DS,
        "decline_then_ok": CARD_DECLINED,
        "insufficient_gives_up": CARD_INSUFFICIENT,
    }[plan]
    result = await gateway_pay(run, v, payment["redirect_url"], first_card)
    if result == "declined" and plan == "decline_then_ok":
        # The attempt is spent: back to the shop, a new payment, another card.
        payment = await start_payment(run, v, order)
        result = await gateway_pay(run, v, payment["redirect_url"], CARD_OK) if payment else "error"
    if result != "accepted":
        run.outcomes["payment_declined_gave_up" if result == "declined" else "gateway_error"] += 1
        await cancel(run, v, order["id"])
        return
    status = await wait_paid(run, v, order_path)
    if status != PAID:
        run.outcomes[f"order_{status}"] += 1
        return
    run.paid_at.append(time.monotonic())
    r = await run.client.request(
        "GET",
        f"{API}/orders/{order['id']}/tickets/",
        endpoint="orders.tickets",
        cookies=v.cookies,
        headers=v.order_headers,
    )
    tickets = r.json() if r.status == 200 else None
    if isinstance(tickets, dict):
        tickets = tickets.get("results", tickets.get("tickets"))
    run.buyers += 1
    run.tickets += len(tickets) if isinstance(tickets, list) else 0
    run.outcomes["bought" if isinstance(tickets, list) else "bought_tickets_unreadable"] += 1


async def visitor(run: Run, index: int, arrive_at: float) -> None:
    """One person's whole visit, from arrival to tickets (or giving up)."""
    v = Visitor(index=index, rng=random.Random(run.seed * 1_000_003 + index))
    v.cookies.forwarded_for = f"10.{index >> 16 & 255}.{index >> 8 & 255}.{index & 255}"
    delay = arrive_at - time.monotonic()
    if delay > 0:
        # Nobody comes any more once the sell-out is announced.
        await run.stock_gone.nap(delay)
    if run.stock_gone.is_set():
        run.outcomes["arrived_after_sell_out"] += 1
        return
    r = await run.client.request(
        "POST",
        f"{API}/events/{run.sale.slug}/queue/join/",
        endpoint="queue.join",
        cookies=v.cookies,
        json_body={},
    )
    joined = r.json() if r.status in (200, 201) else None
    if not isinstance(joined, dict):
        run.outcomes[f"join_failed_{r.status}"] += 1
        return
    if await wait_for_admission(run, v, joined):
        await buy(run, v)


def arrivals(
    visitors: int,
    *,
    rng: random.Random,
    start: float,
    open_at: float,
    late_window: float = 30.0,
    early_share: float = 0.9,
) -> list[float]:
    """Arrival times: most before opening (spread over the pre-queue), the rest
    in the first `late_window` seconds after it."""
    early = round(visitors * early_share)
    before = max(0.5, open_at - start - 3)
    times = [start + rng.uniform(0, before) for _ in range(early)]
    times += [open_at + rng.uniform(0, late_window) for _ in range(visitors - early)]
    return times
