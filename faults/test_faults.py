"""Faults injected into the real processes while simulated buyers buy.

One stack, booted like `make run` with its own embedded PostgreSQL and Redis
(faults/stack.py). For each fault: buyers arrive over a few seconds; the fault
is injected into the real processes (kill -9, SIGSTOP/SIGCONT, FLUSHALL, a
server restart, an acquirer that never calls back or calls back twice, late
and out of order); then the money is checked in Postgres: every payment the
gateway accepted ends paid with its tickets or refunded (`lost` = 0), no
place is sold twice or past capacity, no buyer is past the phase's limit, no
ended pass is accepted again, no 5xx outside the outage, and a newcomer gets
through the room again within seconds of the fault's end (`recovery_s`; the
fault itself lasts `fault_s`: a pause, a restart). One table at the end
(conftest.py).
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest

from faults import buyers as b
from faults.stack import FaultStack

pytestmark = [pytest.mark.faults, pytest.mark.slow]

BUYERS = 14
ARRIVALS_OVER = 5.0  # seconds
FAULT_AT = 2.5  # seconds after the first arrival: payments are in flight
RUN_SECONDS = 60
RECOVERY_LIMIT = 30.0  # seconds
OUTAGE_GRACE = 1.5  # requests started this soon after recovery may still fail


@dataclass
class Fault:
    name: str
    inject: Callable[[FaultStack, b.Scenario], Awaitable[None]]
    card: str = b.CARD_OK
    loses_redis: bool = False  # ended passes must stay ended afterwards


async def _kill(stack: FaultStack, role: str, *, which: int = 0) -> None:
    stack.signal(role, signal.SIGKILL, which=which)


async def kill_worker(stack, scenario):
    await _kill(stack, "worker")


async def kill_ticks(stack, scenario):
    await _kill(stack, "ticks")


async def kill_beat(stack, scenario):
    await _kill(stack, "beat")


async def kill_web_worker(stack, scenario):
    await _kill(stack, "web-worker")


async def kill_web_master(stack, scenario):
    await _kill(stack, "web")


async def pause_worker(stack, scenario):
    pid = stack.signal("worker", signal.SIGSTOP)
    try:
        await asyncio.sleep(8)
    finally:
        os.kill(pid, signal.SIGCONT)


async def flushall_while_worker_paused(stack, scenario):
    """The issue's run: worker paused, callbacks and refunds queued, FLUSHALL, resume."""
    pid = stack.signal("worker", signal.SIGSTOP)
    try:
        await asyncio.sleep(5)
        await asyncio.to_thread(lambda: stack.redis().flushall())
        await asyncio.sleep(1)
    finally:
        os.kill(pid, signal.SIGCONT)


async def flushall(stack, scenario):
    await asyncio.to_thread(lambda: stack.redis().flushall())


async def kill_redis(stack, scenario):
    """A Redis crash: the launcher restarts it from its append-only file."""
    await _kill(stack, "redis")


async def restart_postgres(stack, scenario):
    await asyncio.to_thread(stack.postgres_restart)


async def no_callbacks(stack, scenario):
    """The acquirer took the money and never calls back (card 4000…0770):
    reconciliation asks for the status and settles."""


async def callbacks_out_of_order(stack, scenario):
    """The acquirer calls back twice (card 4400…0019), and, playing the
    acquirer, the suite sends for payments of the card that never calls back a
    `failed` first, then `succeeded`, the same `succeeded` again, and a late
    `failed` once settled: all must end paid, once."""
    await asyncio.sleep(6)  # the buyers have paid
    ids = list(scenario.accepted)
    payments = await asyncio.to_thread(b.payments_of, stack, ids)
    for payment in payments[: max(1, len(payments) // 2)]:
        succeeded = f"evt_{uuid.uuid4().hex}"
        for status, event_id in (
            ("failed", f"evt_{uuid.uuid4().hex}"),
            ("succeeded", succeeded),
            ("succeeded", succeeded),
        ):
            code = await asyncio.to_thread(
                b.callback_send, stack, payment=payment, status=status, event_id=event_id
            )
            assert code < 500, (status, code)
    scenario.late_callbacks = payments  # sent again after settlement


FAULTS = [
    Fault("kill -9 worker", kill_worker),
    # The case: the worker held the gateway's delayed callbacks in memory.
    Fault("kill -9 worker, late callbacks", kill_worker, card=b.CARD_DELAYED),
    Fault("kill -9 ticks worker", kill_ticks),
    Fault("kill -9 beat", kill_beat),
    Fault("kill -9 web worker", kill_web_worker),
    Fault("kill -9 web master", kill_web_master),
    Fault("SIGSTOP worker 8 s", pause_worker),
    Fault("FLUSHALL, worker paused", flushall_while_worker_paused, loses_redis=True),
    Fault("FLUSHALL", flushall, loses_redis=True),
    Fault("kill -9 redis (restarted)", kill_redis, loses_redis=True),
    Fault("PostgreSQL restart", restart_postgres),
    Fault("acquirer never calls back", no_callbacks, card=b.CARD_NO_CALLBACK),
    Fault("callbacks twice", no_callbacks, card=b.CARD_DUPLICATE),
    Fault("callbacks late", no_callbacks, card=b.CARD_DELAYED),
    Fault("callbacks reordered", callbacks_out_of_order, card=b.CARD_NO_CALLBACK),
]


async def _scenario(stack: FaultStack, fault: Fault, offset: int) -> tuple[b.Scenario, dict]:
    scenario = b.Scenario(started_wall=time.time())
    run = b.new_run(stack, scenario, seconds=RUN_SECONDS)
    try:
        step = ARRIVALS_OVER / BUYERS
        tasks = [
            asyncio.create_task(
                b.buyer(run, scenario, offset + i, card=fault.card, arrive_in=i * step)
            )
            for i in range(BUYERS)
        ]
        await asyncio.sleep(FAULT_AT)
        injected = time.monotonic()
        await fault.inject(stack, scenario)
        over = time.monotonic()
        recovery = await b.room_serves(run, index=offset + 900)
        recovered = time.monotonic() if recovery is not None else None
        await asyncio.gather(*tasks)
        revived = 0
        if fault.loses_redis:
            revived = await b.pass_revived(run, _PAID[-6:])
        return scenario, {
            "injected": injected,
            "fault_s": over - injected,
            "recovery": recovery,
            "recovered": recovered,
            "revived": revived,
        }
    finally:
        await run.client.close()


_PAID: list = []  # visitors of earlier faults whose orders are paid: their passes have ended


@pytest.mark.parametrize("fault", FAULTS, ids=[f.name for f in FAULTS])
def test_no_paid_order_is_lost(fault_stack, fault_table, fault):
    offset = (FAULTS.index(fault) + 1) * 1000
    # In a thread of its own: in a whole-suite run the browser tests' Playwright
    # (sync API) keeps an event loop running in this one.
    with ThreadPoolExecutor(max_workers=1) as pool:
        scenario, seen = pool.submit(asyncio.run, _scenario(fault_stack, fault, offset)).result()
    # Money the gateway took, whether or not the buyer saw the answer.
    accepted = sorted(
        set(scenario.accepted) | set(b.charged_since(fault_stack, scenario.started_wall))
    )
    result = b.settle(fault_stack, accepted)
    late = scenario.late_callbacks
    for payment in late:  # a `failed` long after `succeeded`: changes nothing
        b.callback_send(
            fault_stack, payment=payment, status="failed", event_id=f"evt_{uuid.uuid4().hex}"
        )
    if late:
        result = b.settlement(fault_stack, accepted)
    oversold, over_limit = b.stock_checks(fault_stack)
    window_end = (seen["recovered"] or float("inf")) + OUTAGE_GRACE
    statuses = scenario.recorder.started
    outside = [
        (endpoint, status)
        for started, endpoint, status in statuses
        if status >= 500 and not seen["injected"] - 0.5 <= started <= window_end
    ]
    row = {
        "fault": fault.name,
        "requests": len(statuses),
        "5xx": sum(1 for _, _, s in statuses if s >= 500),
        "5xx_outside": len(outside),
        "accepted": result.accepted,
        "paid": len(result.paid),
        "refunded": len(result.refunded),
        "lost": len(result.lost),
        "oversold": oversold,
        "over_limit": over_limit,
        "revived": seen["revived"],
        "fault_s": seen["fault_s"],
        "recovery_s": seen["recovery"],
        "outcomes": dict(scenario.outcomes),
        "5xx_by_endpoint": dict(
            Counter(f"{endpoint} {status}" for _, endpoint, status in statuses if status >= 500)
        ),
    }
    fault_table.append(row)
    _PAID.extend(v for pid, v in scenario.buyers.items() if pid in result.paid and v.queue_pass)

    assert result.accepted > 0, f"no payment was accepted during {fault.name}: {row}"
    assert not result.lost, (
        f"lost payments {b.lost_details(fault_stack, result.lost)}: {row}\n"
        f"{fault_stack.log_tail(80)}"
    )
    assert oversold == 0, row
    assert over_limit == 0, row
    assert seen["revived"] == 0, row
    assert not outside, (outside, row)
    assert seen["recovery"] is not None and seen["recovery"] < RECOVERY_LIMIT, row
