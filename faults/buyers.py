"""Simulated buyers for the fault suite, and the checks of the money after a fault.

The buyers are the bench's (bench/buyers.py, written against API.md): each
joins the waiting room as its own visitor (cookies, address), waits for its
pass, holds (best available, chosen seats or standing), orders, starts a
payment and types a card into the sandbox gateway's form. A buyer does not
wait for "paid": what happens to its money is checked afterwards in
Postgres, against the gateway's own record of what it charged.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import random
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field

from bench.audit import audit
from bench.buyers import (
    API,
    Run,
    Sale,
    Visitor,
    gateway_pay,
    start_payment,
    take_hold,
    wait_for_admission,
)
from bench.common import Client, Recorder
from faults.stack import DEMO_EVENT, FaultStack

CARD_OK = "4400430000000001"
CARD_DELAYED = "4000000000000119"  # accepted, callback after 60 s
CARD_DUPLICATE = "4400430000000019"  # accepted, callback sent twice
CARD_NO_CALLBACK = "4000000000000770"  # accepted, never a callback
SETTLE_SECONDS = 90


@dataclass
class TimedRecorder(Recorder):
    """The bench's recorder, plus when each request started (5xx inside or
    outside a fault's outage window)."""

    started: list[tuple[float, str, int]] = field(default_factory=list)

    def add(self, endpoint: str, status: int, seconds: float) -> None:
        super().add(endpoint, status, seconds)
        self.started.append((time.monotonic() - seconds, endpoint, status))


@dataclass
class Scenario:
    """One fault's run: what the buyers did and what the gateway accepted."""

    accepted: list[str] = field(default_factory=list)  # payment ids the form accepted
    buyers: dict[str, Visitor] = field(default_factory=dict)  # payment id -> who paid
    late_callbacks: list[dict] = field(default_factory=list)  # payments to call back late
    outcomes: Counter = field(default_factory=Counter)
    recorder: TimedRecorder = field(default_factory=TimedRecorder)
    started_wall: float = 0.0  # time.time(), for the gateway's record


def new_run(stack: FaultStack, scenario: Scenario, *, seconds: float) -> Run:
    client = Client(stack.url, scenario.recorder, connections=100, timeout=20)
    sale = Sale(slug=DEMO_EVENT, capacity=0, open_at=0.0)
    return Run(client=client, sale=sale, seed=random.randrange(1 << 30),
               deadline=time.monotonic() + seconds)  # fmt: skip


def visitor_new(index: int) -> Visitor:
    v = Visitor(index=index, rng=random.Random(index * 7919 + 17))
    v.cookies.forwarded_for = f"10.{index >> 16 & 255}.{index >> 8 & 255}.{index & 255}"
    return v


async def admitted(run: Run, v: Visitor) -> bool:
    r = await run.client.request(
        "POST", f"{API}/events/{DEMO_EVENT}/queue/join/", endpoint="queue.join",
        cookies=v.cookies, json_body={},
    )  # fmt: skip
    joined = r.json() if r.status in (200, 201) else None
    if not isinstance(joined, dict):
        return False
    return bool(await wait_for_admission(run, v, joined))


async def buyer(run: Run, scenario: Scenario, index: int, *, card: str, arrive_in: float) -> None:
    await asyncio.sleep(arrive_in)
    v = visitor_new(index)
    if not await admitted(run, v):
        scenario.outcomes["not_admitted"] += 1
        return
    hold = await take_hold(run, v, v.rng.choice((1, 2, 2, 3, 4)))
    if not hold:
        scenario.outcomes["no_hold"] += 1
        return
    r = await run.client.request(
        "POST", f"{API}/orders/", endpoint="orders.create", cookies=v.cookies,
        headers={**v.queue_headers, "Idempotency-Key": uuid.uuid4().hex},
        json_body={"hold": hold["id"], "email": f"fault{index}@example.com", "name": f"F {index}"},
    )  # fmt: skip
    if r.status != 201:
        scenario.outcomes[f"order_{r.status}"] += 1
        return
    order = r.json()
    v.order_token = order.get("access_token")
    # Every fourth buyer pays in two tabs: two payments of one order, both
    # charged; one sells, the other must be refunded (money to give back in
    # every fault).
    tabs = 2 if index % 4 == 0 else 1
    payments = [await start_payment(run, v, order) for _tab in range(tabs)]
    for payment in payments:
        if payment is None:
            scenario.outcomes["no_payment"] += 1
            continue
        result = await gateway_pay(run, v, payment["redirect_url"], card)
        scenario.outcomes[f"gateway_{result}"] += 1
        if result == "accepted":
            scenario.accepted.append(str(payment["payment_id"]))
            scenario.buyers[str(payment["payment_id"])] = v


async def room_serves(run: Run, *, index: int, timeout: float = 90) -> float | None:
    """Seconds until a newcomer is let in by the room and the event page
    answers; None if not within `timeout`."""
    started = time.monotonic()
    attempt = 0
    while time.monotonic() - started < timeout:
        attempt += 1
        v = visitor_new(index + attempt)
        page = await run.client.request("GET", f"/e/{DEMO_EVENT}/", endpoint="probe.page")
        try:
            ok = page.status == 200 and await asyncio.wait_for(admitted(run, v), 10)
        except TimeoutError:
            ok = False
        if ok:
            return time.monotonic() - started
        await asyncio.sleep(0.5)
    return None


async def pass_revived(run: Run, visitors: list[Visitor]) -> int:
    """Holds accepted on the passes of buyers whose orders are paid (must be 0)."""
    revived = 0
    for v in visitors:
        r = await run.client.request(
            "POST", f"{API}/holds/", endpoint="probe.old_pass", cookies=v.cookies,
            headers={**v.queue_headers, "Idempotency-Key": uuid.uuid4().hex},
            json_body={"event": DEMO_EVENT, "best_available": {"quantity": 1, "together": True}},
        )  # fmt: skip
        if r.status == 201:
            revived += 1
            await run.client.request(
                "DELETE", f"{API}/holds/{r.json()['id']}/", endpoint="probe.release",
                cookies=v.cookies,
            )  # fmt: skip
    return revived


# --- playing the acquirer: late and reordered callbacks ----------------------------


def callback_send(stack: FaultStack, *, payment: dict, status: str, event_id: str) -> int:
    """POST a callback signed with the gateway's secret, as the acquirer would."""
    import urllib.error
    import urllib.request

    body = {
        "payment_id": payment["id"], "status": status, "amount": payment["amount"],
        "currency": payment["currency"], "event_id": event_id,
        "card": {"brand": "visa", "bin": "440043", "last4": "0770"},
    }  # fmt: skip
    raw = json.dumps(body, separators=(",", ":")).encode()
    sig = "sha256=" + hmac.new(stack.gateway_secret.encode(), raw, hashlib.sha256).hexdigest()
    request = urllib.request.Request(  # noqa: S310 - the stack's own URL
        stack.url + f"{API}/payments/sandbox/callback/", data=raw, method="POST",
        headers={"Content-Type": "application/json", "X-Sandbox-Signature": sig},
    )  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=20) as response:  # noqa: S310
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def payments_of(stack: FaultStack, ids: list[str]) -> list[dict]:
    with stack.db() as conn:
        rows = conn.execute(
            "SELECT id::text, amount::text, currency FROM orders_payment"
            " WHERE id = ANY(%s::uuid[])",
            [ids],
        ).fetchall()
    return [{"id": r[0], "amount": r[1], "currency": r[2]} for r in rows]


# --- the money, after --------------------------------------------------------------

SETTLEMENT_SQL = """
    SELECT p.id::text, p.status, o.status, o.quantity,
      (SELECT count(*) FROM orders_ticket t
        WHERE t.order_id = o.id AND t.status IN ('valid', 'used'))
    FROM orders_payment p JOIN orders_order o ON o.id = p.order_id
    WHERE p.id = ANY(%s::uuid[])
"""

# Over the limit: a buyer's paid tickets in one phase past its per-buyer limit.
LIMITS_SQL = """
    SELECT count(*) FROM (
      SELECT o.buyer_key, o.phase_id, sum(o.quantity) AS taken, max(ph.per_buyer_limit) AS cap
      FROM orders_order o JOIN events_salephase ph ON ph.id = o.phase_id
      WHERE o.status = 'paid' GROUP BY o.buyer_key, o.phase_id
    ) AS per_buyer WHERE taken > cap
"""


def charged_since(stack: FaultStack, since_wall: float) -> list[str]:
    """What the gateway itself recorded as charged since then: money taken even
    when the buyer's browser never saw the answer (the web died mid-request)."""
    with stack.db() as conn:
        rows = conn.execute(
            "SELECT payment_id::text FROM sandbox_charge "
            "WHERE status <> 'failed' AND created_at >= to_timestamp(%s)",
            [since_wall],
        ).fetchall()
    return [r[0] for r in rows]


@dataclass
class Settlement:
    accepted: int
    paid: list[str]
    refunded: list[str]
    lost: list[str]


def settlement(stack: FaultStack, ids: list[str]) -> Settlement:
    with stack.db() as conn:
        rows = conn.execute(SETTLEMENT_SQL, [ids]).fetchall()
    paid, refunded = [], []
    for pid, pstatus, ostatus, quantity, tickets in rows:
        if pstatus == "refunded":
            refunded.append(pid)
        elif pstatus == "succeeded" and ostatus == "paid" and tickets == quantity:
            paid.append(pid)
    lost = sorted(set(ids) - set(paid) - set(refunded))
    return Settlement(len(ids), paid, refunded, lost)


LOST_SQL = """
    SELECT p.id::text, p.status, p.reconcile_attempts, p.reconcile_after, o.status,
      h.status, c.status,
      (SELECT json_agg(json_build_object('kind', m.kind, 'attempts', m.attempts,
         'due_at', m.due_at, 'done_at', m.done_at, 'error', left(m.last_error, 200)))
       FROM ticketing_outboxmessage m
       WHERE m.payload::text LIKE '%%' || p.id::text || '%%'
          OR m.payload->>'order_id' = o.id::text)
    FROM orders_payment p JOIN orders_order o ON o.id = p.order_id
    JOIN orders_hold h ON h.id = o.hold_id
    LEFT JOIN sandbox_charge c ON c.payment_id = p.id
    WHERE p.id = ANY(%s::uuid[])
"""


def lost_details(stack: FaultStack, ids: list[str]) -> list[dict]:
    """What became of payments not settled: for the assertion's message."""
    columns = ("payment", "status", "reconcile_attempts", "reconcile_after", "order", "hold",
               "gateway", "outbox")  # fmt: skip
    with stack.db() as conn:
        rows = conn.execute(LOST_SQL, [ids]).fetchall()
    return [dict(zip(columns, (str(v) for v in row), strict=True)) for row in rows]


def settle(stack: FaultStack, ids: list[str], *, timeout: float = SETTLE_SECONDS) -> Settlement:
    """Wait until every accepted payment is paid with tickets or refunded."""
    deadline = time.monotonic() + timeout
    while True:
        result = settlement(stack, ids)
        if not result.lost or time.monotonic() > deadline:
            return result
        time.sleep(1)


def stock_checks(stack: FaultStack) -> tuple[int, int]:
    """(oversold: every audit count summed, buyers over their limit)."""
    with stack.db() as conn, conn.cursor() as cursor:
        oversold = sum(audit(cursor).values())
        cursor.execute(LIMITS_SQL)
        over_limit = int(cursor.fetchone()[0])
    return oversold, over_limit
