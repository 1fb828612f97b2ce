"""Check-in at a staff gate (the gate page's service and endpoints): gate names,
the event a gate scans for, wrong day, supervisor overrides, per-gate counts,
and one admission when phones race."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test import Client

from api.models import Partner
from api.services import api_key_create
from events.models import Event
from orders.exceptions import OverrideReasonRequired, TicketNotFound
from orders.models import Ticket
from orders.selectors import gate_counts
from orders.tests.factories import event_make, order_make
from orders.tickets import ticket_checkin, ticket_checkin_override, tickets_issue
from ticketing.models import AuditEntry


def _tickets(count: int = 1, event: Event | None = None) -> list[Ticket]:
    event = event or event_make(seats=count)
    order = order_make(event=event, seat_count=count)
    return tickets_issue(order=order, hold=order.hold)


def _staff(django_user_model, name: str, *perms: str):
    user = django_user_model.objects.create_user(name, password="pw", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=perms))
    return user


@pytest.mark.django_db
def test_a_gate_scan_records_the_gate_and_a_second_scan_says_where_and_when(django_user_model):
    [ticket] = _tickets(1)
    staff = _staff(django_user_model, "door", "scan_ticket")
    result, scanned = ticket_checkin(
        scanned=ticket.code, event=ticket.event, gate="  North   gate ", actor_user=staff
    )
    assert result == "ok" and scanned.used_gate == "North gate"
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.USED and ticket.used_gate == "North gate"
    entry = AuditEntry.objects.get(action="ticket.checked_in", object_id=str(ticket.pk))
    assert entry.actor_user == staff and entry.object_type == "orders.ticket"
    assert entry.data == {"event": ticket.event_id, "gate": "North gate", "order": ticket.order_id}

    again, seen = ticket_checkin(scanned=ticket.code, event=ticket.event, gate="South")
    assert again == "already_used"
    assert seen.used_gate == "North gate" and seen.used_at == ticket.used_at
    assert AuditEntry.objects.filter(action="ticket.checked_in").count() == 1


@pytest.mark.django_db
def test_a_ticket_of_another_event_is_other_event_that_day_and_wrong_day_otherwise():
    [here] = _tickets(1)
    [same_day] = _tickets(1)
    [next_week] = _tickets(1)
    # 11:00 in Almaty: two hours later is the same local day whenever the test runs.
    noon = here.event.starts_at.replace(hour=6, minute=0, second=0, microsecond=0)
    Event.objects.filter(pk=here.event_id).update(starts_at=noon)
    here.event.starts_at = noon
    Event.objects.filter(pk=same_day.event_id).update(starts_at=noon + timedelta(hours=2))
    Event.objects.filter(pk=next_week.event_id).update(
        starts_at=here.event.starts_at + timedelta(days=7)
    )
    gate_event = Event.objects.get(pk=here.event_id)
    result, ticket = ticket_checkin(scanned=same_day.code, event=gate_event, gate="A")
    assert result == "other_event" and ticket.event_id == same_day.event_id
    assert ticket_checkin(scanned=next_week.code, event=gate_event, gate="A")[0] == "wrong_day"
    for other in (same_day, next_week):
        other.refresh_from_db()
        assert other.status == Ticket.Status.VALID  # still good at its own door
    assert ticket_checkin(scanned=next_week.code, gate="A")[0] == "ok"  # a gate for all events
    Ticket.objects.filter(pk=same_day.pk).update(status=Ticket.Status.VOID)
    assert ticket_checkin(scanned=same_day.code, event=gate_event)[0] == "void"  # void first


@pytest.mark.django_db
def test_the_local_date_decides_wrong_day_not_the_utc_date():
    [late] = _tickets(1)
    [early] = _tickets(1)
    # 23:30 and 00:30 in Almaty (UTC+5) are two local days but one UTC day.
    base = late.event.starts_at.replace(hour=18, minute=30, second=0, microsecond=0)
    Event.objects.filter(pk=late.event_id).update(starts_at=base)
    Event.objects.filter(pk=early.event_id).update(starts_at=base + timedelta(hours=1))
    gate_event = Event.objects.get(pk=late.event_id)
    assert ticket_checkin(scanned=early.code, event=gate_event)[0] == "wrong_day"


@pytest.mark.django_db
def test_override_lets_a_used_ticket_in_with_a_reason_and_audits_it(django_user_model):
    [ticket] = _tickets(1)
    boss = _staff(django_user_model, "boss", "scan_ticket", "override_checkin")
    ticket_checkin(scanned=ticket.code, event=ticket.event, gate="North")
    with pytest.raises(OverrideReasonRequired):
        ticket_checkin_override(
            scanned=ticket.code, event=ticket.event, gate="South", reason="  ", actor_user=boss
        )
    assert not AuditEntry.objects.filter(action="ticket.checkin_overridden").exists()
    let_in = ticket_checkin_override(
        scanned=ticket.code,
        event=ticket.event,
        gate="South",
        reason="Went out for medicine, stamp on hand",
        actor_user=boss,
    )
    assert let_in.status == Ticket.Status.USED and let_in.used_gate == "North"  # first entry kept
    entry = AuditEntry.objects.get(action="ticket.checkin_overridden")
    assert entry.actor_user == boss and entry.object_id == str(ticket.pk)
    assert entry.data == {
        "event": ticket.event_id,
        "ticket_event": ticket.event_id,
        "gate": "South",
        "reason": "Went out for medicine, stamp on hand",
        "previous_status": "used",
    }
    with pytest.raises(TicketNotFound):
        ticket_checkin_override(
            scanned="nope", event=ticket.event, gate="S", reason="x", actor_user=boss
        )


@pytest.mark.django_db
def test_override_of_a_valid_ticket_of_another_day_uses_it_at_this_gate(django_user_model):
    [here] = _tickets(1)
    [other] = _tickets(1)
    Event.objects.filter(pk=other.event_id).update(starts_at=here.event.starts_at + timedelta(1))
    boss = _staff(django_user_model, "boss", "override_checkin")
    assert ticket_checkin(scanned=other.code, event=here.event, gate="VIP")[0] == "wrong_day"
    ticket_checkin_override(
        scanned=other.code, event=here.event, gate="VIP", reason="Bought the wrong day",
        actor_user=boss,
    )  # fmt: skip
    other.refresh_from_db()
    assert other.status == Ticket.Status.USED and other.used_gate == "VIP"
    assert ticket_checkin(scanned=other.code)[0] == "already_used"  # not twice


@pytest.mark.django_db
def test_gate_counts_count_admissions_and_overrides_per_gate(django_user_model):
    tickets = _tickets(4)
    event = tickets[0].event
    boss = _staff(django_user_model, "boss", "override_checkin")
    ticket_checkin(scanned=tickets[0].code, event=event, gate="North")
    ticket_checkin(scanned=tickets[1].code, event=event, gate="North")
    ticket_checkin(scanned=tickets[2].code, event=event, gate="South")
    ticket_checkin_override(
        scanned=tickets[0].code, event=event, gate="South", reason="re-entry", actor_user=boss
    )
    Ticket.objects.filter(pk=tickets[3].pk).update(status=Ticket.Status.VOID)
    assert gate_counts(event=event) == {
        "gates": [
            {"gate": "North", "admitted": 2, "overrides": 0},
            {"gate": "South", "admitted": 1, "overrides": 1},
        ],
        "admitted": 3,
        "tickets": 3,
    }


@pytest.mark.django_db(transaction=True)
def test_two_gates_scanning_one_ticket_at_once_admit_it_once():
    """Two phones (and more) at two gates see the same ticket at the same moment:
    one conditional UPDATE lets exactly one in; every other gets already_used
    naming the winner's gate."""
    [ticket] = _tickets(1)
    event = ticket.event
    racers = 24
    barrier = threading.Barrier(racers)
    results: list[tuple[str, str, str]] = []
    lock = threading.Lock()

    def scan(gate: str) -> None:
        try:
            barrier.wait()
            result, seen = ticket_checkin(scanned=ticket.code, event=event, gate=gate)
            with lock:
                results.append((gate, result, seen.used_gate))
        finally:
            connection.close()

    threads = [
        threading.Thread(target=scan, args=("North" if i % 2 else "South",)) for i in range(racers)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == racers
    winners = [gate for gate, result, _ in results if result == "ok"]
    assert len(winners) == 1
    assert all(used == winners[0] for _, _, used in results)
    assert [r for _, r, _ in results].count("already_used") == racers - 1
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.USED and ticket.used_gate == winners[0]
    assert AuditEntry.objects.filter(action="ticket.checked_in").count() == 1


@pytest.mark.django_db(transaction=True)
def test_an_override_racing_scans_of_a_valid_ticket_lets_it_in_once(django_user_model):
    """A supervisor overrides while phones scan the same valid ticket: the
    ticket becomes used exactly once (either a scan won and the override found
    it used, or the override used it and every scan says already used)."""
    [ticket] = _tickets(1)
    event = ticket.event
    boss = _staff(django_user_model, "boss", "override_checkin")
    racers = 12
    barrier = threading.Barrier(racers + 1)
    results: list[str] = []
    lock = threading.Lock()

    def scan() -> None:
        try:
            barrier.wait()
            result, _ticket = ticket_checkin(scanned=ticket.code, event=event, gate="North")
            with lock:
                results.append(result)
        finally:
            connection.close()

    def override() -> None:
        try:
            barrier.wait()
            ticket_checkin_override(
                scanned=ticket.code, event=event, gate="VIP", reason="late", actor_user=boss
            )
        finally:
            connection.close()

    threads = [threading.Thread(target=scan) for _ in range(racers)]
    threads.append(threading.Thread(target=override))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == racers and set(results) <= {"ok", "already_used"}
    entry = AuditEntry.objects.get(action="ticket.checkin_overridden")
    admissions = results.count("ok") + (entry.data["previous_status"] == "valid")
    assert admissions == 1, (results, entry.data)
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.USED
    assert ticket.used_gate == ("North" if results.count("ok") else "VIP")


# --- the endpoints the gate page calls --------------------------------------------


def _post(client: Client, path: str, body: dict):
    return client.post(path, body, content_type="application/json")


@pytest.mark.django_db
def test_the_gate_endpoints_need_the_gate_permissions(client, django_user_model):
    [ticket] = _tickets(1)
    slug = ticket.event.slug
    body = {"code": ticket.code, "event": slug, "gate": "North"}
    client.force_login(_staff(django_user_model, "clerk"))  # staff, but not a gate
    refused = _post(client, "/api/v1/checkin/", body)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "permission_denied"
    assert client.get(f"/api/v1/checkin/gates/{slug}/").status_code == 403
    client.force_login(_staff(django_user_model, "door", "scan_ticket"))
    answer = _post(client, "/api/v1/checkin/", body)
    assert answer.status_code == 200 and answer.json()["result"] == "ok"
    assert answer.json()["ticket"]["used_gate"] == "North"
    assert answer.json()["ticket"]["event"]["slug"] == slug
    override = {**body, "reason": "re-entry"}
    assert _post(client, "/api/v1/checkin/override/", override).status_code == 403
    counts = client.get(f"/api/v1/checkin/gates/{slug}/").json()
    assert counts["gates"] == [{"gate": "North", "admitted": 1, "overrides": 0}]
    client.force_login(_staff(django_user_model, "boss", "scan_ticket", "override_checkin"))
    assert _post(client, "/api/v1/checkin/override/", override).json()["result"] == "ok"
    assert client.get(f"/api/v1/checkin/gates/{slug}/").json()["gates"][0]["overrides"] == 1


@pytest.mark.django_db
def test_gate_endpoints_answer_bad_input_with_the_one_error_body(client, django_user_model):
    [ticket] = _tickets(1)
    client.force_login(_staff(django_user_model, "boss", "scan_ticket", "override_checkin"))
    missing = _post(client, "/api/v1/checkin/", {"code": ticket.code, "event": "no-such"})
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "event_not_found"
    no_reason = _post(
        client,
        "/api/v1/checkin/override/",
        {"code": ticket.code, "event": ticket.event.slug, "reason": "   "},
    )
    assert no_reason.status_code == 400
    assert no_reason.json()["error"]["code"] == "validation_error"
    unknown = _post(
        client,
        "/api/v1/checkin/override/",
        {"code": "nope", "event": ticket.event.slug, "reason": "why not"},
    )
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "ticket_not_found"
    long_gate = _post(client, "/api/v1/checkin/", {"code": ticket.code, "gate": "g" * 41})
    assert long_gate.status_code == 400 and "gate" in long_gate.json()["error"]["details"]
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.VALID


@pytest.mark.django_db
def test_a_partner_scanner_is_the_actor_of_its_admissions(client):
    [ticket] = _tickets(1)
    partner = Partner.objects.create(slug="door", name="Door")
    _key, raw = api_key_create(partner=partner, scopes=["checkin"], name="gate 1")
    answer = client.post(
        "/api/v1/checkin/",
        {"code": ticket.code, "gate": "East"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Api-Key {raw}",
    )
    assert answer.json()["result"] == "ok"
    entry = AuditEntry.objects.get(action="ticket.checked_in")
    assert entry.actor == "partner:door" and entry.actor_user is None
    assert entry.data["gate"] == "East"


@pytest.mark.django_db
def test_the_gate_endpoints_refuse_a_session_post_without_the_csrf_token(django_user_model):
    [ticket] = _tickets(1)
    client = Client(enforce_csrf_checks=True)
    client.force_login(_staff(django_user_model, "boss", "scan_ticket", "override_checkin"))
    body = {"code": ticket.code, "event": ticket.event.slug, "reason": "x"}
    for path in ("/api/v1/checkin/", "/api/v1/checkin/override/"):
        refused = _post(client, path, body)
        assert refused.status_code == 403, path
        assert refused.json()["error"]["code"] == "permission_denied"
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.VALID
    assert not AuditEntry.objects.filter(object_type="orders.ticket").exists()


# --- the page ----------------------------------------------------------------------


@pytest.mark.django_db
def test_the_gate_page_is_for_staff_with_the_gate_permission(client, django_user_model):
    [ticket] = _tickets(1)
    anonymous = client.get("/gate/")
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/admin/login/")
    client.force_login(_staff(django_user_model, "clerk"))
    assert client.get("/gate/").status_code == 403
    client.force_login(_staff(django_user_model, "door", "scan_ticket"))
    choose = client.get("/gate/", HTTP_ACCEPT_LANGUAGE="en")
    assert choose.status_code == 200
    assert ticket.event.title in choose.content.decode()
    change = client.get("/gate/", {"event": ticket.event.slug})  # "Change": no errors yet
    assert change.status_code == 200 and not change.context["form"].errors
    assert change.context["form"]["event"].value() == ticket.event.slug
    nameless = client.get("/gate/", {"event": ticket.event.slug, "gate": "   "})
    assert nameless.context["form"].errors["gate"]
    assert nameless.status_code == 200 and "gate-config" not in nameless.content.decode()
    scanner = client.get("/gate/", {"event": ticket.event.slug, "gate": "North"})
    assert scanner.status_code == 200
    config = scanner.context["config"]
    assert config["event"] == ticket.event.slug and config["gate"] == "North"
    assert config["canOverride"] is False
    # The QR reader compiles WebAssembly on this page only; scripts stay nonce/self.
    assert "'wasm-unsafe-eval'" in scanner["Content-Security-Policy"]
    assert "'wasm-unsafe-eval'" not in client.get("/")["Content-Security-Policy"]
    directives = dict(
        d.strip().split(" ", 1) for d in scanner["Content-Security-Policy"].split(";")
    )
    assert "unsafe-inline" not in directives["script-src"]


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["ru", "kk"])
def test_the_gate_page_and_its_script_texts_are_translated(client, django_user_model, language):
    from journeys.journey import untranslated

    [ticket] = _tickets(1)
    client.force_login(_staff(django_user_model, "boss", "scan_ticket", "override_checkin"))
    for query in ({}, {"event": ticket.event.slug, "gate": "North"}):
        page = client.get("/gate/", query, HTTP_ACCEPT_LANGUAGE=language)
        assert page.status_code == 200
        text = page.content.decode()
        assert f'lang="{language}"' in text
        assert untranslated(text) == [], query
