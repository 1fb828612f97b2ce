"""The bench driver against bench/fake_server.py: tests of the DRIVER, not of kassa.

The fake keeps its own books, so these prove the driver counts only what the
server sold, survives conflicts, declines, 3-D Secure and abandoned checkouts,
and stops by itself.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import time

import pytest

from bench import buyers
from bench.fake_server import SLUG, FakeKassa, serve
from bench.onsale import drive


@pytest.fixture
def fake():
    kassa = FakeKassa(places=100, open_in=2, rate_per_minute=3000)
    server = serve(kassa)
    yield kassa, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.mark.slow
def test_driver_sells_out_the_fake_and_counts_exactly_what_it_sold(fake):
    kassa, base = fake
    sale = buyers.Sale(slug=SLUG, capacity=100, open_at=time.monotonic() + 2)
    started = time.monotonic()
    # In its own thread: a session-wide Playwright browser keeps an event loop
    # running in the main thread, where asyncio.run() is refused.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        result = pool.submit(
            asyncio.run,
            drive(
                base_url=base, sale=sale, visitors=140, seed=11, duration_limit=40, connections=16
            ),
        ).result()
    assert time.monotonic() - started < 60
    assert result["visitors_crashed"] == 0 and result["visitors_cancelled_at_limit"] == 0
    assert result["tickets"] == kassa.sold_tickets > 0
    assert kassa.sold_tickets + result["walkaway_places"] >= 95  # sold out but for walk-aways
    assert result["buyers"] == result["outcomes"]["bought"]
    steps = result["step_p99_ms"]
    assert steps["hold"] > 0 and steps["order"] > 0 and steps["payment_start"] > 0
    endpoints = result["endpoints"]
    for name in (
        "queue.join",
        "queue.state",
        "queue.status",
        "holds.best",
        "orders.create",
        "payments.start",
        "gateway.form",
        "gateway.pay",
        "orders.read",
        "orders.tickets",
    ):
        assert endpoints[name]["requests"] > 0, name
    # Everyone joined once (but those who came after the sell-out was announced);
    # nobody asked for their own status more than a few times.
    late = result["outcomes"].get("arrived_after_sell_out", 0)
    assert endpoints["queue.join"]["requests"] + late == 140
    assert endpoints["queue.status"]["requests"] < 140 * 4
    assert set(result["errors_by_status"]) <= {"409", "422"}
    # Every 3-D Secure card went through the second step (GET and POST), and
    # only those (which buyers draw it depends on timing; seed 11 draws some).
    plans = result["payment_plans"]
    assert endpoints.get("gateway.3ds", {}).get("requests", 0) == 2 * plans.get("3ds", 0)
    assert result["timeline"] and result["timeline"][-1]["t"] > 2
