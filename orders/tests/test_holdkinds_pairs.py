"""Seats sold only together (orders/holdkinds/pairs.py): a love seat's two
halves, a wheelchair space with its companion seat. Races run real threads on
PostgreSQL."""

from __future__ import annotations

import pytest
from django.utils import translation

from cinema.factories import cinema_make, hall_make, showing_make
from cinema.services import hall_create, hall_layout_spec
from events.models import EventSeat
from orders.exceptions import NotEnoughSeats, SeatUnavailable, ValidationFailed
from orders.models import Hold
from orders.services.holds import hold_create
from orders.tests.factories import race, web_buyer

RACERS = 24


@pytest.fixture(autouse=True)
def _english():
    """The refusals are asserted in English (the site's default language is Russian)."""
    with translation.override("en"):
        yield


def _showing(**hall):
    return showing_make(hall=hall_make(**hall)).event


def _ids(event, kind: str) -> list[int]:
    return list(
        EventSeat.objects.filter(event=event, seat__kind=kind)
        .order_by("seat__row_index", "seat__number")
        .values_list("pk", flat=True)
    )


def _take(event, who: str, **stock):
    return hold_create(event=event, buyer=web_buyer(who), **stock)


def _tier(event, key: str) -> int:
    return event.tiers.get(key=key).pk


@pytest.mark.django_db
def test_a_love_seat_half_alone_is_refused_and_nothing_is_held():
    event = _showing()
    left, right = _ids(event, "love")
    for half in (left, right):
        with pytest.raises(ValidationFailed) as caught:
            _take(event, "solo", seats=[half])
        (message,) = caught.value.details["seats"]
        assert "A love seat is sold as a pair: choose both halves" in message
        assert "seats 9 and 10" in message
    assert not Hold.objects.exists()
    assert EventSeat.objects.filter(event=event, status="held").count() == 0


@pytest.mark.django_db
def test_both_halves_of_a_love_seat_are_held_together_with_other_seats():
    event = _showing()
    love = _ids(event, "love")
    standard = _ids(event, "standard")[:2]
    hold = _take(event, "couple", seats=[*love, *standard])
    assert sorted(hold.seat_ids) == sorted([*love, *standard])
    assert EventSeat.objects.filter(pk__in=love, hold_id=hold.pk, status="held").count() == 2


@pytest.mark.django_db
def test_a_wheelchair_space_is_sold_with_its_companion_seat_and_never_apart():
    event = _showing()
    (space,), (companion,) = _ids(event, "wheelchair"), _ids(event, "companion")
    with pytest.raises(ValidationFailed) as alone:
        _take(event, "w", seats=[space])
    assert "A wheelchair space is sold with its companion seat" in alone.value.details["seats"][0]
    with pytest.raises(ValidationFailed) as stranger:
        _take(event, "c", seats=[companion, _ids(event, "standard")[5]])
    assert (
        "A companion seat is sold only with its wheelchair space"
        in (stranger.value.details["seats"][0])
    )
    assert not Hold.objects.exists()
    hold = _take(event, "wc", seats=[space, companion])
    assert sorted(hold.seat_ids) == sorted([space, companion])
    assert EventSeat.objects.filter(hold_id=hold.pk, status="held").count() == 2


@pytest.mark.django_db
def test_the_api_refuses_half_a_pair_with_the_one_error_body(client):
    event = _showing()
    client.cookies["django_language"] = "en"
    response = client.post(
        "/api/v1/holds/",
        data={"event": event.slug, "seats": _ids(event, "love")[:1]},
        content_type="application/json",
    )
    assert response.status_code == 400
    body = response.json()
    assert body["error"]["code"] == "validation_error"
    assert "choose both halves" in body["error"]["details"]["seats"][0]


@pytest.mark.django_db(transaction=True)
def test_racing_buyers_for_the_two_halves_never_split_a_love_seat():
    event = _showing()
    left, right = _ids(event, "love")
    # A third ask for the left half alone, a third for the right alone, a
    # third for the whole sofa (in either order): exactly one buyer gets the
    # sofa, nobody ever gets a half.
    asks = [[left], [right], [left, right], [right, left]]
    results = race(RACERS, lambda i: _take(event, f"r{i}", seats=asks[i % 4]))
    holds = [r for r in results if isinstance(r, Hold)]
    assert [
        r for r in results if not isinstance(r, Hold | ValidationFailed | SeatUnavailable)
    ] == []
    assert all(isinstance(results[i], ValidationFailed) for i in range(RACERS) if i % 4 < 2)
    assert len(holds) == 1
    assert sorted(holds[0].seat_ids) == sorted([left, right])
    owners = set(EventSeat.objects.filter(pk__in=[left, right]).values_list("hold_id", flat=True))
    assert owners == {holds[0].pk}


@pytest.mark.django_db(transaction=True)
def test_racing_best_available_for_the_love_tier_hands_the_sofa_to_one_buyer_whole():
    event = _showing()
    love_tier = _tier(event, "love")
    results = race(
        RACERS,
        lambda i: _take(event, f"b{i}", best_available={"quantity": 1 + i % 2, "tier": love_tier}),
    )
    holds = [r for r in results if isinstance(r, Hold)]
    assert [r for r in results if not isinstance(r, Hold | NotEnoughSeats)] == []
    assert len(holds) == 1 and len(holds[0].seat_ids) == 2  # never one half for quantity 1
    assert sorted(holds[0].seat_ids) == sorted(_ids(event, "love"))


@pytest.mark.django_db
def test_best_available_never_hands_out_wheelchair_spaces_companions_or_half_sofas():
    event = _showing()
    paired = set(_ids(event, "wheelchair") + _ids(event, "companion") + _ids(event, "love"))
    got: list[int] = []
    for i in range(60):
        try:
            got += _take(event, f"one{i}", best_available={"quantity": 1}).seat_ids
        except NotEnoughSeats:
            break
    assert len(got) == 50 - 4  # every other seat, one at a time
    assert paired.isdisjoint(got)


@pytest.mark.django_db
def test_best_available_for_two_takes_one_whole_sofa_not_halves_of_two():
    cinema = cinema_make()
    rows = [f"{r}: SSSSSSSSSS" for r in "ABCDE"] + ["F: LLLL_LLLL"]
    spec = hall_layout_spec(cinema=cinema, code="7", name="Зал 7", rows=rows)
    hall = hall_create(cinema=cinema, code="7", name="Зал 7", spec=spec)
    event = showing_make(hall=hall).event
    love_tier = _tier(event, "love")
    pairs = {
        es.pk: es.seat.pair_id
        for es in EventSeat.objects.filter(event=event, seat__kind="love").select_related("seat")
    }
    seat_of = dict(
        EventSeat.objects.filter(event=event, seat__kind="love").values_list("pk", "seat_id")
    )
    for i in range(4):
        hold = _take(event, f"two{i}", best_available={"quantity": 2, "tier": love_tier})
        a, b = hold.seat_ids
        assert pairs[a] == seat_of[b] and pairs[b] == seat_of[a]  # one sofa, both halves
    with pytest.raises(NotEnoughSeats):
        _take(event, "more", best_available={"quantity": 2, "tier": love_tier})


@pytest.mark.django_db
def test_the_page_form_refuses_half_a_pair_and_shows_why_on_the_hall_map(client):
    event = _showing()
    client.cookies["django_language"] = "en"
    response = client.post(
        f"/e/{event.slug}/hold/", {"seats": [str(_ids(event, "wheelchair")[0])]}, follow=True
    )
    assert response.redirect_chain[-1][0] == f"/e/{event.slug}/"
    html = response.content.decode()
    assert "A wheelchair space is sold with its companion seat: choose both" in html
    assert 'class="seat-picker"' in html  # back on the hall's map
    assert not Hold.objects.exists()
