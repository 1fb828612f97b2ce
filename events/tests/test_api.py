from __future__ import annotations

import copy
from datetime import timedelta

import jsonschema
import pytest
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator

from api.models import Partner
from api.services import api_key_create
from events.models import Event, EventSeat, Section
from events.tests.factories import make_event


@pytest.fixture(scope="module")
def openapi() -> dict:
    return SchemaGenerator().get_schema(request=None, public=True)


def _nullable_to_jsonschema(node):
    """OpenAPI 3.0 `nullable: true` → JSON Schema type unions, recursively."""
    if isinstance(node, dict):
        node = {k: _nullable_to_jsonschema(v) for k, v in node.items()}
        if node.pop("nullable", False):
            node = {"anyOf": [node, {"type": "null"}]}
        return node
    if isinstance(node, list):
        return [_nullable_to_jsonschema(v) for v in node]
    return node


def assert_matches_schema(openapi: dict, path: str, status: int, body) -> None:
    responses = openapi["paths"][path]["get"]["responses"]
    schema = responses[str(status)]["content"]["application/json"]["schema"]
    root = _nullable_to_jsonschema({"components": copy.deepcopy(openapi["components"]), **schema})
    jsonschema.Draft7Validator(root).validate(body)


def _partner_key(scopes: list[str]) -> str:
    partner, _ = Partner.objects.get_or_create(slug="halyk", defaults={"name": "Halyk Bank"})
    return api_key_create(partner=partner, scopes=scopes)[1]


def test_event_list_matches_schema_and_paginates(client, small_event, openapi):
    for i in range(3):
        make_event(venue=small_event.venue, slug=f"more-{i}")
    first = client.get("/api/v1/events/?page_size=2")
    assert first.status_code == 200
    body = first.json()
    assert_matches_schema(openapi, "/api/v1/events/", 200, body)
    assert len(body["results"]) == 2 and body["next"]
    rest = client.get(body["next"]).json()
    slugs = [e["slug"] for e in body["results"] + rest["results"]]
    assert sorted(slugs) == ["more-0", "more-1", "more-2", "small-show"]
    item = body["results"][0]
    assert item["starts_at"].endswith("+05:00")  # the event's own offset
    assert item["min_price"] == "10000.00" and item["currency"] == "KZT"


def test_event_list_filters(client, small_event, small_spec):
    later = make_event(venue=small_event.venue, slug="later")
    Event.objects.filter(pk=later.pk).update(
        title="Later gig", starts_at=timezone.now() + timedelta(days=90)
    )

    def slugs(query):
        return [e["slug"] for e in client.get("/api/v1/events/" + query).json()["results"]]

    assert slugs("?q=later") == ["later"]
    assert slugs("?q=small hall") == ["small-show", "later"]  # venue name
    soon = (timezone.now() + timedelta(days=60)).date().isoformat()
    assert slugs(f"?from={soon}") == ["later"]
    assert slugs(f"?to={soon}") == ["small-show"]
    assert slugs("?venue=small-hall") == ["small-show", "later"]
    assert slugs(f"?venue={small_event.venue_id}") == ["small-show", "later"]
    assert slugs("?venue=elsewhere") == []


@pytest.mark.parametrize(
    "value", ["yesterday", "2027-13-45", "2027-09-19T25:00", "2027-02-30", "x" * 40]
)
def test_event_list_bad_date_is_a_400_error_body(client, db, openapi, value):
    response = client.get(f"/api/v1/events/?from={value}", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert_matches_schema(openapi, "/api/v1/events/", 400, response.json())
    assert response.json()["error"]["details"] == {"from": ["Use an ISO 8601 date or date-time."]}


def test_event_detail_matches_schema(client, small_event, openapi):
    response = client.get("/api/v1/events/small-show/")
    assert response.status_code == 200
    body = response.json()
    assert_matches_schema(openapi, "/api/v1/events/{slug}/", 200, body)
    assert body["venue"]["slug"] == "small-hall" and body["waiting_room"] is None
    assert [t["price"] for t in body["tiers"]] == ["30000.00", "10000.00", "20000.00"]
    assert {t["currency"] for t in body["tiers"]} == {"KZT"}
    presale, general = body["phases"]
    assert presale["open_now"] is True and general["open_now"] is False
    assert presale["channels"] == ["partner:halyk"] and presale["per_buyer_limit"] == 4
    assert presale["requires_waiting_room"] is True
    assert "access_codes" not in presale  # never leak the codes themselves
    assert [s["code"] for s in body["sections"]] == ["G", "A", "S"]


def test_unknown_or_draft_event_is_404(client, small_event, openapi):
    make_event(venue=small_event.venue, slug="draft", status=Event.Status.DRAFT)
    for slug in ("nope", "draft"):
        response = client.get(f"/api/v1/events/{slug}/")
        assert response.status_code == 404
        assert_matches_schema(openapi, "/api/v1/events/{slug}/", 404, response.json())
        assert response.json()["error"]["code"] == "event_not_found"


def test_availability_matches_schema_and_counts(client, small_event, openapi):
    grid = Section.objects.get(venue=small_event.venue, code="G")
    EventSeat.objects.filter(section=grid, event=small_event).update(status="sold")
    response = client.get("/api/v1/events/small-show/availability/")
    body = response.json()
    assert_matches_schema(openapi, "/api/v1/events/{slug}/availability/", 200, body)
    assert "seats" not in body
    sections = {s["code"]: s for s in body["sections"]}
    assert sections["G"]["available"] == 0 and sections["G"]["min_price"] is None
    assert sections["A"]["available"] == 11 and sections["A"]["min_price"] == "10000.00"
    assert sections["S"]["tiers"][0]["available"] == 50
    assert body["available"] == 61 and body["min_price"] == "10000.00"


def test_availability_with_section_lists_its_seats(client, small_event, openapi):
    arc = Section.objects.get(venue=small_event.venue, code="A")
    response = client.get(f"/api/v1/events/small-show/availability/?section={arc.pk}")
    body = response.json()
    assert_matches_schema(openapi, "/api/v1/events/{slug}/availability/", 200, body)
    assert len(body["seats"]) == 11
    seat_id, row, number, x, _y, tier, status = body["seats"][0]
    assert (row, number, status) == ("1", 1, "available")
    assert tier == small_event.tiers.get(key="back").pk
    assert EventSeat.objects.get(pk=seat_id).seat.x == x


def test_availability_answer_is_cached_for_a_second_per_section(
    client, small_event, django_assert_max_num_queries
):
    """A crowd looking at the map costs a Redis GET: no SQL within the TTL,
    each section on its own key, and forgetting the event drops them all."""
    from events.selectors import event_availability_forget

    event_availability_forget(event_id=small_event.pk)
    arc = Section.objects.get(venue=small_event.venue, code="A")
    url = "/api/v1/events/small-show/availability/"
    first = client.get(url).json()
    with_seats = client.get(f"{url}?section={arc.pk}").json()
    EventSeat.objects.filter(event=small_event, section=arc).update(status="sold")
    with django_assert_max_num_queries(0):
        assert client.get(url).json() == first
        assert client.get(f"{url}?section={arc.pk}").json() == with_seats
    event_availability_forget(event_id=small_event.pk)
    again = client.get(f"{url}?section={arc.pk}").json()
    assert {seat[6] for seat in again["seats"]} == {"sold"}


@pytest.mark.parametrize(("query", "status"), [("?section=abc", 400), ("?section=99999", 404)])
def test_availability_bad_section(client, small_event, openapi, query, status):
    response = client.get("/api/v1/events/small-show/availability/" + query)
    assert response.status_code == status
    assert_matches_schema(openapi, "/api/v1/events/{slug}/availability/", status, response.json())


def test_partner_key_needs_the_catalog_scope(client, small_event, openapi):
    sell_only = _partner_key(["sell"])
    response = client.get("/api/v1/events/", HTTP_AUTHORIZATION=f"Api-Key {sell_only}")
    assert response.status_code == 403
    assert_matches_schema(openapi, "/api/v1/events/", 403, response.json())
    catalog = _partner_key(["catalog"])
    for url in ("/api/v1/events/", "/api/v1/events/small-show/",
                "/api/v1/events/small-show/availability/"):  # fmt: skip
        assert client.get(url, HTTP_AUTHORIZATION=f"Api-Key {catalog}").status_code == 200
    response = client.get("/api/v1/events/", HTTP_AUTHORIZATION="Api-Key nope.nope")
    assert response.status_code == 401


@pytest.mark.parametrize(
    "query",
    ["?section=99999999999999999999999", "?section=0", "?section=-1", "?section=%00"],
)
def test_absurd_section_ids_are_client_errors(client, small_event, query):
    response = client.get("/api/v1/events/small-show/availability/" + query)
    assert response.status_code in (400, 404)
    assert "error" in response.json()


def test_bad_cursor_and_page_size_are_not_server_errors(client, small_event):
    bad_cursor = client.get("/api/v1/events/?cursor=zzz")
    assert bad_cursor.status_code == 400
    assert "cursor" in bad_cursor.json()["error"]["details"]
    assert client.get("/api/v1/events/?page_size=abc").status_code == 400
    assert client.get("/api/v1/events/?venue=99999999999999999999999").json()["results"] == []


@pytest.mark.django_db
def test_event_list_accepts_any_valid_utc_offset_and_refuses_overflow(client):
    # +17:00 is valid ISO 8601 but outside PostgreSQL's offset range: must not 500.
    ok = client.get("/api/v1/events/", {"from": "2006-09-20T15:05:12+17:00"})
    assert ok.status_code == 200
    bad = client.get("/api/v1/events/", {"from": "0001-01-01T00:00:00+05:00"})
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "validation_error"
