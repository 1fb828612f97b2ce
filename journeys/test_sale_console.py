"""Staff watch a small sale on the on-sale console, pause and resume the room
from it, then read the post-sale report: on a desktop and on a phone.

The sale is made by the bench's simulated buyers (bench/buyers.py, written
against API.md: join the waiting room, wait for the pass, hold, order, pay at
the sandbox gateway) running against the journeys' stack while the console
is open; the console must update in place, without a reload."""

from __future__ import annotations

import asyncio
import re
import threading
import time

import pytest

from bench.buyers import Run, Sale, visitor
from bench.common import Client, Recorder
from journeys.stack import _pg_connect, urlsplit

pytestmark = [pytest.mark.journey, pytest.mark.browser]
DEMO = "backstreet-boys-almaty"
BUYERS = 14


def _sign_in_to_console(j, stack) -> None:
    """Staff open the console's address (a bookmark, or the link on the room's
    admin page: sales/tests/test_views.py) and sign in on the way."""
    login = (stack.data_dir / "staff_login.txt").read_text()
    password = re.search(r"password (\S+)", login).group(1)
    j.step("admin-login", j.page.goto(f"{stack.url}/staff/sales/{DEMO}/"))
    j.page.fill("#id_username", "admin")
    j.page.fill("#id_password", password)
    j.go("console", lambda: j.page.click("input[type=submit]"),
         texts=[j.t("On-sale console"), j.t("Room controls")])  # fmt: skip


def _number(j, key: str) -> int:
    text = j.page.locator(f'[data-k="{key}"]').inner_text()
    digits = re.sub(r"\D", "", text)
    return int(digits) if digits else -1


def _sale_in_background(stack) -> tuple[threading.Thread, dict]:
    """BUYERS simulated buyers arriving over ~10 s, for at most 90 s."""
    result: dict = {}

    async def sale() -> None:
        client = Client(stack.url, Recorder(), connections=20, timeout=20)
        run = Run(client=client, sale=Sale(slug=DEMO, capacity=0, open_at=0.0), seed=11,
                  deadline=time.monotonic() + 90)  # fmt: skip
        start = time.monotonic()
        try:
            await asyncio.gather(
                *(visitor(run, 9000 + i, start + i * 0.7) for i in range(BUYERS)),
                return_exceptions=True,
            )
        finally:
            await client.close()
        result["run"] = run

    thread = threading.Thread(target=lambda: asyncio.run(sale()), daemon=True)
    thread.start()
    return thread, result


def _db_scalar(stack, sql: str, *args):
    name = urlsplit(stack.database_url).path.strip("/")
    with _pg_connect(stack.database_url, name) as conn:
        return conn.execute(sql, args).fetchone()[0]


def test_console_updates_in_place_during_a_sale_and_controls_the_room(desktop, stack):
    j = desktop
    page = j.page
    _sign_in_to_console(j, stack)
    page.locator('[data-k="updated"]').filter(has_text=re.compile(r"\d")).wait_for()
    before = _number(j, "sales.tickets_total")
    assert before >= 0, "the console shows no ticket count"
    page.evaluate("window.__sameDocument = true")  # gone if the page reloads
    first_update = page.locator('[data-k="updated"]').inner_text()

    thread, result = _sale_in_background(stack)
    deadline = time.monotonic() + 120
    while _number(j, "sales.tickets_total") <= before:
        assert time.monotonic() < deadline, "the console's ticket count never moved"
        page.wait_for_timeout(1000)
    page.wait_for_function(
        "() => Number(document.getElementById('chart-sales').dataset.points) >= 60"
        " && Number(document.getElementById('chart-queue').dataset.points) >= 2",
        timeout=60_000,
    )
    assert page.evaluate("window.__sameDocument === true"), "the console reloaded the page"
    assert page.locator('[data-k="updated"]').inner_text() != first_update
    # The charts carry their time axes, units and legends (uPlot draws them).
    legend = page.locator("#chart-sales .u-legend").inner_text()
    for name in ("holds", "orders", "paid", "tickets"):
        assert j.t(name) in legend, f"{name!r} missing from the legend: {legend!r}"
    assert page.locator("#chart-sales .u-axis").count() >= 2
    assert page.locator("#tiers tbody tr").count() >= 6
    j.step("console-during-sale")

    # Pause from the console: a confirmation, then the room is paused and audited.
    dialogs: list[str] = []
    page.once("dialog", lambda d: (dialogs.append(d.message), d.accept()))
    j.go("paused", lambda: page.get_by_role("button", name=j.t("Pause"), exact=True).click(),
         texts=[j.t("Done: the room's settings are changed and audited.")])  # fmt: skip
    assert dialogs and dialogs[0] == j.t("Pause admission? Nobody new is let in until you resume.")
    page.locator('[data-k="queue.state"]').filter(has_text=j.t("paused")).wait_for()
    audited = _db_scalar(
        stack,
        "SELECT count(*) FROM orders_auditentry e JOIN auth_user u ON u.id = e.actor_user_id"
        " WHERE e.action = 'queue.room_updated' AND u.username = 'admin'"
        " AND e.data -> 'paused' ->> 'new' = 'True'",
    )
    assert audited == 1
    # A refused confirmation changes nothing (no navigation, no audit row).
    page.once("dialog", lambda d: d.dismiss())
    page.get_by_role("button", name=j.t("Resume"), exact=True).click()
    page.wait_for_timeout(500)
    assert j.t("paused") in page.locator('[data-k="queue.state"]').inner_text()
    resumes = _db_scalar(
        stack,
        "SELECT count(*) FROM orders_auditentry WHERE action = 'queue.room_updated'"
        " AND data -> 'paused' ->> 'new' = 'False'",
    )
    assert resumes == 0
    page.once("dialog", lambda d: d.accept())
    j.go("resumed", lambda: page.get_by_role("button", name=j.t("Resume"), exact=True).click())
    page.locator('[data-k="queue.state"]').filter(has_text=j.t("admitting")).wait_for()

    thread.join(150)
    assert "run" in result, "the simulated sale did not finish"
    # After the sale the console's totals are the database's.
    page.wait_for_timeout(6000)
    sold = _db_scalar(
        stack,
        "SELECT count(*) FROM orders_ticket t JOIN events_event e ON e.id = t.event_id"
        " WHERE e.slug = %s AND t.status IN ('valid', 'used')",
        DEMO,
    )
    assert sold > before
    assert _number(j, "sales.tickets_total") == sold
    j.step("console-after-sale")

    j.go("report", lambda: page.get_by_role("link", name=j.t("Post-sale report")).first.click(),
         texts=[j.t("Per-minute timeline"), j.t("Sales by tier"), j.t("Queue statistics"),
                j.t("Payment statistics"), j.t("Biggest error causes"),
                j.t("Staff actions during the sale")])  # fmt: skip
    chart = page.locator("img.sr-chart")
    assert chart.evaluate("img => img.complete && img.naturalWidth > 0")
    # The declined cards' 4xx at the gateway, from the per-minute rollup the
    # stack's web processes wrote to Postgres as they ran.
    errors = page.locator("#errors tbody tr").all_inner_texts()
    assert any("4xx" in row for row in errors), errors
    tier_total = page.locator("#by_tier tbody tr").last.inner_text()
    assert str(sold) in tier_total.replace("\u00a0", ""), tier_total
    with page.expect_download() as download:
        page.locator("#by_tier a", has_text="CSV").click()
    assert download.value.suggested_filename == f"{DEMO}-by_tier.csv"
    with page.expect_download() as pdf:
        page.get_by_role("link", name=j.t("Download PDF")).click()
    assert pdf.value.suggested_filename == f"{DEMO}-report.pdf"
    j.finish()


def test_console_and_report_on_a_phone(phone, stack):
    j = phone
    page = j.page
    _sign_in_to_console(j, stack)
    page.locator('[data-k="updated"]').filter(has_text=re.compile(r"\d")).wait_for()
    page.wait_for_function(
        "() => Number(document.getElementById('chart-sales').dataset.points) >= 60"
    )
    # Nothing wider than the phone's screen but the tables' own scroll boxes.
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1, f"the console is {overflow}px wider than the phone"
    j.step("console-phone")
    j.go("report-phone",
         lambda: page.get_by_role("link", name=j.t("Post-sale report")).first.click(),
         texts=[j.t("Per-minute timeline")])  # fmt: skip
    j.finish()
