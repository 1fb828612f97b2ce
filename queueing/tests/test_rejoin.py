"""After a paid order: the pass ends; the buyer may join again at the back and
buy within the phase's per-buyer limit (services.queue_rejoin)."""

from __future__ import annotations

import time

import pytest
from django.test import Client
from django.utils import timezone

from events.models import Event
from orders.models import Order
from queueing import selectors, services, state
from queueing.exceptions import BuyerLimitReached, PassEnded, PassExpired

pytestmark = pytest.mark.django_db


def _admit_everyone(room, now: float | None = None) -> None:
    t0 = now or time.time()
    state.conn().hset(state.keys(room.pk)["st"], "last", t0)
    services.room_tick(room=room, now=t0 + 5)


def _paid(room, visitor: str) -> None:
    """What a paid order does to the waiting room (payments call it on commit)."""
    services.pass_complete(event_id=room.event_id, buyer_key=visitor)


# --- the service ---------------------------------------------------------------


def test_a_paid_buyer_joins_again_at_the_back_with_a_new_number(room):
    first = services.queue_join(room_id=room.pk, visitor="user:1")
    _admit_everyone(room)
    old_pass = selectors.queue_status(token=first.token)["pass"]
    selectors.pass_validate(event_id=room.event_id, buyer_key="user:1", token=old_pass)
    _paid(room, "user:1")
    assert selectors.queue_status(token=first.token)["state"] == "done"
    waiting = [services.queue_join(room_id=room.pk, visitor=f"device:{i}") for i in range(3)]

    again = services.queue_rejoin(room_id=room.pk, visitor="user:1")

    assert again.number == waiting[-1].number + 1  # after everyone already waiting
    assert again.number != first.number
    fresh = services.queue_join(room_id=room.pk, visitor="device:fresh")
    assert fresh.number == again.number + 1  # no better than a fresh arrival
    status = selectors.queue_status(token=again.token)
    assert status["state"] == "waiting" and status["number"] == again.number
    # The old place stays gone: its token does not bring it back, its pass buys nothing.
    assert selectors.queue_status(token=first.token)["number"] == again.number
    with pytest.raises(PassEnded) as refused:
        selectors.pass_validate(event_id=room.event_id, buyer_key="user:1", token=old_pass)
    assert refused.value.details["queue_url"] == f"/e/{room.event.slug}/queue/"
    # Joining again twice changes nothing: the new place is live.
    assert services.queue_rejoin(room_id=room.pk, visitor="user:1").number == again.number


def test_the_new_place_is_admitted_and_its_pass_buys(room):
    services.queue_join(room_id=room.pk, visitor="user:1")
    _admit_everyone(room)
    _paid(room, "user:1")
    again = services.queue_rejoin(room_id=room.pk, visitor="user:1")
    _admit_everyone(room, time.time() + 10)
    status = selectors.queue_status(token=again.token)
    assert status["state"] == "admitted"
    assert selectors.pass_validate(event_id=room.event_id, buyer_key="user:1", token=status["pass"])


def test_a_pass_that_ran_out_may_join_again(room):
    first = services.queue_join(room_id=room.pk, visitor="user:1")
    _admit_everyone(room)
    selectors.queue_status(token=first.token)  # the pass's expiry is fixed now
    later = time.time() + room.pass_minutes * 60 + 1
    assert selectors.queue_status(token=first.token, now=later)["state"] == "expired"
    again = services.queue_rejoin(room_id=room.pk, visitor="user:1", now=later)
    assert again.number > first.number


def test_a_live_place_is_kept_by_join_again(room):
    services.queue_join(room_id=room.pk, visitor="device:ahead")
    mine = services.queue_join(room_id=room.pk, visitor="user:1")
    assert services.queue_rejoin(room_id=room.pk, visitor="user:1").number == mine.number


def test_join_again_at_the_per_buyer_limit_is_refused(room, order_paid):
    services.queue_join(room_id=room.pk, visitor="user:1")
    _admit_everyone(room)
    _paid(room, "user:1")
    order_paid(room.event, "user:1", quantity=4)  # the phase's limit is 4
    with pytest.raises(BuyerLimitReached):
        services.queue_rejoin(room_id=room.pk, visitor="user:1")


@pytest.fixture
def order_paid():
    """A paid order of `buyer_key` for `quantity` tickets (what counts against the limit)."""
    from orders.models import Hold

    def make(event, buyer_key: str, *, quantity: int) -> Order:
        now = timezone.now()
        hold = Hold.objects.create(event=event, phase=event.phases.first(), buyer_key=buyer_key,
                                   channel="web", quantity=quantity, total="10000.00",
                                   currency="KZT", status=Hold.Status.CONVERTED,
                                   expires_at=now)  # fmt: skip
        return Order.objects.create(
            code=f"T{hold.pk.hex[:8]}", access_token=hold.pk.hex, event=event,
            phase=event.phases.first(), hold=hold, buyer_key=buyer_key, channel="web",
            email="a@example.com", name="A", status=Order.Status.PAID, quantity=quantity,
            total="10000.00", currency="KZT", expires_at=now, paid_at=now,
        )  # fmt: skip

    return make


# --- the pages -----------------------------------------------------------------


def _turn(client: Client, room) -> str:
    page = client.get(f"/e/{room.event.slug}/queue/").content.decode()
    assert "It is your turn!" in page
    return page


def _buy(client: Client, room, quantity: int) -> Order:
    hold = client.post(f"/e/{room.event.slug}/hold/", {"best_quantity": str(quantity)})
    assert hold.status_code == 302 and hold["Location"].startswith("/checkout/"), [
        str(m) for m in hold.wsgi_request._messages
    ]
    checkout = client.post(hold["Location"], {"email": "a@example.com", "name": "A B"})
    assert checkout.status_code == 302
    order = Order.objects.latest("created_at")
    Order.objects.filter(pk=order.pk).update(status=Order.Status.PAID, paid_at=timezone.now())
    _paid(room, order.buyer_key)
    return order


def test_second_purchase_pages_say_the_same_and_offer_joining_again(room):
    slug = room.event.slug
    Event.objects.filter(pk=room.event_id).update(status=Event.Status.ON_SALE)  # a public page
    client = Client(headers={"accept-language": "en"})
    client.post(f"/e/{slug}/queue/")
    _admit_everyone(room)
    _turn(client, room)
    _buy(client, room, 2)
    services.queue_join(room_id=room.pk, visitor="device:waiting")  # someone waits

    refused = client.post(f"/e/{slug}/hold/", {"best_quantity": "1"})
    said = " ".join(str(m) for m in refused.wsgi_request._messages)
    assert "Your queue pass ended with your paid order. To buy more, join the queue again" in said
    # The refusal leads back to the event page, which now offers the waiting
    # room (the spent pass is dropped, so the page no longer thinks it has one).
    assert refused.status_code == 302
    event_page = client.get(refused["Location"]).content.decode()
    assert f'href="/e/{slug}/queue/"' in event_page and "Join the waiting room" in event_page
    page = client.get(f"/e/{slug}/queue/").content.decode()
    assert "You have bought tickets; to buy more, join the queue again." in page
    assert "The waiting room is closed" not in page
    assert 'name="action" value="again"' in page

    client.post(f"/e/{slug}/queue/", {"action": "again"})
    page = client.get(f"/e/{slug}/queue/").content.decode()
    assert 'id="q-number">3<' in page  # after the one already waiting, not the old 1
    _admit_everyone(room, time.time() + 10)
    _turn(client, room)
    _buy(client, room, 2)  # 2 + 2 = the limit of 4


def test_at_the_limit_the_page_says_so_instead_of_offering_to_join_again(room):
    client = Client(headers={"accept-language": "en"})
    client.post(f"/e/{room.event.slug}/queue/")
    _admit_everyone(room)
    _turn(client, room)
    _buy(client, room, 4)
    page = client.get(f"/e/{room.event.slug}/queue/").content.decode()
    assert "one buyer may buy at most 4 tickets in this sale: you have reached the limit" in page
    assert 'value="again"' not in page
    refused = client.post(f"/e/{room.event.slug}/queue/", {"action": "again"})
    assert "You have bought as many tickets as one buyer may" in refused.content.decode()


def test_the_join_api_joins_again_at_the_back(room):
    client = Client()
    first = client.post(f"/api/v1/events/{room.event.slug}/queue/join/", {}, "application/json")
    _admit_everyone(room)
    _paid(room, f"device:{first.wsgi_request.device_id}")
    same = client.post(f"/api/v1/events/{room.event.slug}/queue/join/", {}, "application/json")
    assert same.json()["state"] == "done"
    again = client.post(
        f"/api/v1/events/{room.event.slug}/queue/join/", {"again": True}, "application/json"
    )
    assert again.json()["number"] == first.json()["number"] + 1
    assert again.json()["state"] == "waiting"


def test_an_expired_pass_still_says_expired(room):
    """(The hold refusal for a pass whose time ran out is unchanged.)"""
    joined = services.queue_join(room_id=room.pk, visitor="user:1")
    _admit_everyone(room)
    token = selectors.queue_status(token=joined.token)["pass"]
    state.conn().hset(state.keys(room.pk)["pexp"], "user:1", 1)
    from queueing import tokens

    old = tokens.pass_read(token)
    expired = tokens.pass_make(room_id=room.pk, visitor="user:1", number=old["n"],
                               expires_at=time.time() - 1, cap=4)  # fmt: skip
    with pytest.raises(PassExpired) as refused:
        selectors.pass_validate(event_id=room.event_id, buyer_key="user:1", token=expired)
    assert not isinstance(refused.value, PassEnded)
