from __future__ import annotations

import threading

import pytest
from django.db import connection

from api.models import Partner
from api.services import api_key_create
from orders.models import Ticket
from orders.tests.factories import event_make, order_make
from orders.tickets import tickets_issue
from ticketing.models import AuditEntry


def _tickets(count: int = 1) -> list[Ticket]:
    event = event_make(seats=count)
    order = order_make(event=event, seat_count=count)
    return tickets_issue(order=order, hold=order.hold)


@pytest.fixture
def scanner_key(db):
    partner = Partner.objects.create(slug="door", name="Door")
    _key, raw = api_key_create(partner=partner, scopes=["checkin"], name="gate 1")
    return raw


@pytest.mark.django_db
def test_checkin_results(client, scanner_key):
    first, second = _tickets(2)
    Ticket.objects.filter(pk=second.pk).update(status=Ticket.Status.VOID)
    auth = {"HTTP_AUTHORIZATION": f"Api-Key {scanner_key}"}

    def scan(code):
        return client.post(
            "/api/v1/checkin/", {"code": code}, content_type="application/json", **auth
        )

    ok = scan(first.code)
    assert ok.status_code == 200 and ok.json()["result"] == "ok"
    assert ok.json()["ticket"]["seat"] == "1"
    assert scan(first.code).json()["result"] == "already_used"
    assert scan(second.code).json()["result"] == "void"
    assert scan("nope").json() == {"result": "unknown", "ticket": None}
    assert scan("").status_code == 400


@pytest.mark.django_db
def test_a_checkin_key_limited_to_events_checks_in_only_their_tickets(client):
    """A gate's key for one show must not burn tickets of another (issue 15, item 9)."""
    [here] = _tickets(1)
    [elsewhere] = _tickets(1)
    partner = Partner.objects.create(slug="gate", name="Gate")
    _key, limited = api_key_create(
        partner=partner, scopes=["checkin"], name="door A", events=[here.event]
    )
    _key, everywhere = api_key_create(partner=partner, scopes=["checkin"], name="all doors")
    audited = AuditEntry.objects.get(action="api_key.created", data__name="door A")
    assert audited.data["events"] == [here.event_id]

    def scan(raw, code):
        return client.post(
            "/api/v1/checkin/",
            {"code": code},
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Api-Key {raw}",
        ).json()

    assert scan(limited, elsewhere.code) == {"result": "unknown", "ticket": None}
    elsewhere.refresh_from_db()
    assert elsewhere.status == Ticket.Status.VALID  # untouched, still good at its own door
    assert scan(limited, here.code)["result"] == "ok"
    # A key without events (every key made before the limit) keeps checking in everywhere.
    assert scan(everywhere, elsewhere.code)["result"] == "ok"


def test_the_checkin_schema_says_how_event_limits_work(client, db):
    schema = client.get("/api/v1/schema/?format=json")
    assert schema.status_code == 200
    text = schema.content.decode()
    assert "limited to events" in text and "every key made before" in text


@pytest.mark.django_db
def test_checkin_needs_the_scope(client):
    partner = Partner.objects.create(slug="shop", name="Shop")
    _key, raw = api_key_create(partner=partner, scopes=["sell"], name="seller")
    body = {"code": "x"}
    anonymous = client.post("/api/v1/checkin/", body, content_type="application/json")
    assert anonymous.status_code in (401, 403)
    wrong = client.post(
        "/api/v1/checkin/",
        body,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Api-Key {raw}",
    )
    assert wrong.status_code == 403


@pytest.mark.django_db(transaction=True)
def test_checkin_race_exactly_one_scanner_wins(scanner_key):
    from django.test import Client

    [ticket] = _tickets(1)
    racers = 60
    barrier = threading.Barrier(racers)
    results: list[str] = []
    lock = threading.Lock()

    def scan():
        try:
            client = Client()
            barrier.wait()
            response = client.post(
                "/api/v1/checkin/",
                {"code": ticket.code},
                content_type="application/json",
                HTTP_AUTHORIZATION=f"Api-Key {scanner_key}",
            )
            with lock:
                results.append(response.json()["result"])
        finally:
            connection.close()

    threads = [threading.Thread(target=scan) for _ in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == racers
    assert results.count("ok") == 1
    assert results.count("already_used") == racers - 1
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.USED and ticket.used_at is not None
