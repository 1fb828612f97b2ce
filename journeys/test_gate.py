"""At the door: a buyer's tickets (bought through the site) are scanned at the
gate page by staff phones. The camera is Chromium's fake capture device fed a
video of the ticket's QR code; a second device types codes by hand. One
admission per ticket, also when two devices send the same code at once; the
supervisor's override is audited; per-gate counts follow."""

from __future__ import annotations

import re

import psycopg
import pytest

from journeys.camera import camera_browser, qr_y4m
from journeys.journey import (
    DESKTOP,
    PHONE,
    Journey,
    best_available,
    card_form,
    contact_details,
    open_event,
    pay_card,
    tickets_issued,
)

pytestmark = [pytest.mark.journey, pytest.mark.browser]
PRESALE_TITLE = "Ulytau"
PRESALE_SLUG = "ulytau-alatau-hall"
CARD_PARTNER = "4400 4300 0000 0001"


def _buy_two(j: Journey, email: str) -> list[str]:
    j.open_home()
    open_event(j, title=PRESALE_TITLE)
    best_available(j, quantity=2)
    contact_details(j, email=email)
    card_form(j)
    pay_card(j, CARD_PARTNER, step="paid-at-gateway")
    return tickets_issued(j, count=2)


def _staff_login(stack) -> tuple[str, str]:
    text = (stack.data_dir / "staff_login.txt").read_text()
    match = re.search(r"login (\S+) / password (\S+)", text)
    assert match, f"no staff login in {text!r}"
    return match.group(1), match.group(2)


def _open_gate(j: Journey, *, gate: str) -> None:
    """/gate/ → the staff sign-in → the event and gate chooser → the scanner."""
    page = j.page
    j.go("gate-signin", lambda: page.goto(j.stack.url + "/gate/"))
    assert "/admin/login/" in page.url, f"{j.name}: /gate/ did not ask staff to sign in"
    user, password = _staff_login(j.stack)
    page.fill("#id_username", user)
    page.fill("#id_password", password)
    j.go(
        "gate-choose",
        lambda: page.locator("input[type=submit]").click(),
        heading=j.t("Ticket scanning at the gate"),
    )
    page.get_by_label(j.t("Event")).select_option(PRESALE_SLUG)
    page.get_by_label(j.t("Gate")).fill(gate)
    j.go(
        "gate-scanner",
        lambda: page.get_by_role("button", name=j.t("Start scanning")).click(),
        texts=[PRESALE_TITLE, gate],
    )


def _answer(j: Journey, state: str, step: str, *, texts=()) -> str:
    answer = j.page.locator(f"#gate-answer[data-state={state}]")
    answer.wait_for(timeout=20_000)
    j.step(step, texts=texts)
    return j.page.locator("#gate-reason").inner_text()


def _counts(j: Journey) -> dict[str, tuple[int, int]]:
    rows = j.page.locator("#gate-counts tr")
    found = {}
    for i in range(rows.count()):
        gate, admitted, overrides = rows.nth(i).locator("td").all_inner_texts()
        found[gate] = (int(admitted), int(overrides))
    return found


def test_gate_admits_each_ticket_once_by_camera_and_by_hand(
    desktop, browser, stack, tmp_path, unique_email
):
    codes = _buy_two(desktop, unique_email)
    first, second = codes

    # A phone whose camera sees the first ticket's QR (as on the buyer's screen).
    camera = camera_browser(browser, qr_y4m(first, tmp_path / "first.y4m"))
    try:
        context = camera.new_context(
            **PHONE, locale="ru-RU", timezone_id="Asia/Almaty", base_url=stack.url
        )
        context.grant_permissions(["camera"], origin=stack.url)
        phone = Journey(name="gate_phone", stack=stack, page=context.new_page())
        _open_gate(phone, gate="Север 1")
        seat = _answer(phone, "ok", "camera-admitted", texts=[phone.t("Admitted")])
        assert phone.t("row") in seat, f"the answer does not say the place: {seat!r}"

        # The same QR again (the person hands the phone back): refused, with where and when.
        phone.page.get_by_role("button", name=phone.t("Next ticket")).click()
        reason = _answer(phone, "refused", "camera-second-scan", texts=[phone.t("Not admitted")])
        used = phone.t("Already used at gate %(gate)s, %(time)s.", gate="Север 1", time="")
        assert reason.startswith(used.rstrip(".")), f"second scan says {reason!r}"
        assert re.search(r"\d\d:\d\d", reason), f"no time in {reason!r}"

        # A desktop at the South gate without a camera: codes are typed.
        desk_context = browser.new_context(
            **DESKTOP, locale="ru-RU", timezone_id="Asia/Almaty", base_url=stack.url
        )
        desk = Journey(name="gate_desktop", stack=stack, page=desk_context.new_page())
        _open_gate(desk, gate="Юг 2")
        desk.page.locator(".gate.no-camera").wait_for(timeout=10_000)
        desk.step(
            "no-camera", texts=[desk.t("The camera is not available here; type the code below.")]
        )

        # Both devices send the second ticket's code at the same moment: one admits it.
        for j in (phone, desk):
            j.page.get_by_label(j.t("Ticket code")).fill(second)
        phone.page.evaluate("() => document.getElementById('gate-manual').requestSubmit()")
        desk.page.evaluate("() => document.getElementById('gate-manual').requestSubmit()")
        for j in (phone, desk):
            j.page.locator(
                "#gate-answer[data-state=ok], #gate-answer[data-state=refused]"
            ).wait_for(timeout=20_000)
        states = {
            j.name: j.page.locator("#gate-answer").get_attribute("data-state")
            for j in (phone, desk)
        }
        assert sorted(states.values()) == ["ok", "refused"], f"two devices at once: {states}"
        winner, loser = (phone, desk) if states["gate_phone"] == "ok" else (desk, phone)
        winner.step("typed-admitted", texts=[winner.t("Admitted")])
        win_gate = "Север 1" if winner is phone else "Юг 2"
        loser.step("typed-at-once-refused", texts=[loser.t("Not admitted"), win_gate])

        # The supervisor lets the refused one in anyway, with a reason.
        loser.page.get_by_label(loser.t("Let in anyway (supervisor): why?")).fill(
            "Вышел за лекарством, штамп на руке"
        )
        loser.page.get_by_role("button", name=loser.t("Let in anyway")).click()
        _answer(loser, "ok", "override-admitted", texts=[loser.t("Admitted by the supervisor")])
        lose_gate = "Юг 2" if winner is phone else "Север 1"

        # Per-gate counts, live on both devices.
        for j in (phone, desk):
            j.page.reload()
            j.page.locator("#gate-total", has_text="/").wait_for(timeout=10_000)
            j.step("counts", texts=["2 / 2"])
        counts = _counts(desk)
        expected = {"Север 1": [1, 0], "Юг 2": [0, 0]}
        expected[win_gate][0] += 1
        expected[lose_gate][1] += 1
        assert counts == {g: tuple(v) for g, v in expected.items()}, counts
        # Back to the chooser: this phone remembers its gate and the event.
        phone.go(
            "gate-change", lambda: phone.page.get_by_role("link", name=phone.t("Change")).click()
        )
        assert phone.page.get_by_label(phone.t("Gate")).input_value() == "Север 1"
        assert phone.page.get_by_label(phone.t("Event")).input_value() == PRESALE_SLUG
        for j in (phone, desk):
            j.finish()
        desk_context.close()
    finally:
        camera.close()

    with psycopg.connect(stack.database_url) as conn:
        tickets = dict(
            conn.execute(
                "SELECT code, status || ' ' || used_gate FROM orders_ticket WHERE code = ANY(%s)",
                [codes],
            ).fetchall()
        )
        assert tickets == {first: "used Север 1", second: f"used {win_gate}"}
        audits = conn.execute(
            "SELECT action, data->>'gate', data->>'reason', data->>'previous_status'"
            " FROM orders_auditentry WHERE object_type = 'orders.ticket' AND object_id IN"
            " (SELECT id::text FROM orders_ticket WHERE code = ANY(%s)) ORDER BY id",
            [codes],
        ).fetchall()
    assert audits == [
        ("ticket.checked_in", "Север 1", None, None),
        ("ticket.checked_in", win_gate, None, None),
        ("ticket.checkin_overridden", lose_gate, "Вышел за лекарством, штамп на руке", "used"),
    ], audits
    desktop.finish()


def test_two_phones_with_cameras_on_one_ticket_admit_it_once(
    desktop, browser, stack, tmp_path, unique_email
):
    """Two gates' phones open their scanners at once, both cameras seeing the same
    ticket (one shown to two doors): one says admitted, the other already used."""
    first, _second = _buy_two(desktop, unique_email)
    camera = camera_browser(browser, qr_y4m(first, tmp_path / "first.y4m"))
    try:
        phones = []
        for name, gate in (("gate_camera_a", "Восток 1"), ("gate_camera_b", "Восток 2")):
            context = camera.new_context(
                **PHONE, locale="ru-RU", timezone_id="Asia/Almaty", base_url=stack.url
            )
            context.grant_permissions(["camera"], origin=stack.url)
            j = Journey(name=name, stack=stack, page=context.new_page())
            _choose_only(j, gate=gate)
            phones.append(j)
        # Both "Start scanning" at the same moment; the cameras read the QR by themselves.
        for j in phones:
            j.page.evaluate("() => document.querySelector('form.gate-choose').requestSubmit()")
        for j in phones:
            j.page.wait_for_url("**/gate/?event=*")
            j.page.locator(
                "#gate-answer[data-state=ok], #gate-answer[data-state=refused]"
            ).wait_for(timeout=30_000)
        states = [j.page.locator("#gate-answer").get_attribute("data-state") for j in phones]
        assert sorted(states) == ["ok", "refused"], f"two cameras on one ticket: {states}"
        for j, state in zip(phones, states, strict=True):
            j.step("camera-race-" + state)
            if state == "refused":
                assert "Восток" in j.page.locator("#gate-reason").inner_text()
            j.finish()
    finally:
        camera.close()
    with psycopg.connect(stack.database_url) as conn:
        admissions = conn.execute(
            "SELECT count(*) FROM orders_auditentry WHERE action = 'ticket.checked_in'"
            " AND object_id = (SELECT id::text FROM orders_ticket WHERE code = %s)",
            [first],
        ).fetchone()[0]
    assert admissions == 1
    desktop.finish()


def _choose_only(j: Journey, *, gate: str) -> None:
    """Signed in and at the chooser with the event and gate filled, not yet started."""
    page = j.page
    j.go("gate-signin", lambda: page.goto(j.stack.url + "/gate/"))
    user, password = _staff_login(j.stack)
    page.fill("#id_username", user)
    page.fill("#id_password", password)
    j.go("gate-choose", lambda: page.locator("input[type=submit]").click())
    page.get_by_label(j.t("Event")).select_option(PRESALE_SLUG)
    page.get_by_label(j.t("Gate")).fill(gate)
