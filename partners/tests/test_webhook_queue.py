"""queue.admitted: a partner customer admitted by the waiting room's real tick
(Redis Lua) is told to the partner by a signed webhook, once; web visitors
and other partners' customers are not."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from django.test import Client
from django.utils import timezone

from api.models import Partner
from api.services import api_key_create
from orders.tests.conftest_payments import *  # noqa: F403
from partners.models import WebhookDelivery
from partners.services import webhook_endpoint_create
from queueing import services as queue_services
from queueing import state
from queueing.tests.factories import make_room
from ticketing.signing import stamped_valid as signature_verify

pytestmark = pytest.mark.django_db


def _join(slug: str, raw: str | None = None, buyer_ref: str | None = None) -> dict:
    extra = {"HTTP_AUTHORIZATION": f"Api-Key {raw}"} if raw else {}
    body = {"buyer_ref": buyer_ref} if buyer_ref else {}
    response = Client().post(
        f"/api/v1/events/{slug}/queue/join/", body, content_type="application/json", **extra
    )
    assert response.status_code in (200, 201), response.content
    return response.json()


def test_admitted_partner_customers_are_told_once_by_a_signed_webhook(
    partner,
    receiver,
    settings,
    gateway_outbox,
    django_capture_on_commit_callbacks,
):
    settings.WEBHOOK_ALLOW_HTTP = True
    _endpoint, secret = webhook_endpoint_create(
        partner=partner, url=receiver.url, events=["queue.admitted"]
    )
    room = make_room(admission_rate_per_minute=60, max_active_shoppers=100)
    _key, raw = api_key_create(partner=partner, scopes=["catalog", "sell"])
    other = Partner.objects.create(slug="kaspi", name="Kaspi")
    _other_key, other_raw = api_key_create(partner=other, scopes=["catalog", "sell"])
    slug = room.event.slug
    web = _join(slug)
    ours = _join(slug, raw, "cust-1")
    theirs = _join(slug, other_raw, "cust-9")
    late = _join(slug, raw, "cust-2")
    assert [web["number"], ours["number"], theirs["number"], late["number"]] == [1, 2, 3, 4]

    t0 = time.time()
    with django_capture_on_commit_callbacks(execute=True):
        queue_services.room_tick(room=room, now=t0)
        queue_services.room_tick(room=room, now=t0 + 3)  # 60/min over 3 s: numbers 1-3
    assert int(state.read(room.pk)["serving"]) == 3
    bodies = receiver.bodies()
    assert [b["type"] for b in bodies] == ["queue.admitted"]
    queue = bodies[0]["data"]["queue"]
    assert (queue["buyer_ref"], queue["number"], queue["event"]) == ("cust-1", 2, slug)
    assert queue["claim_by"]  # the pass is claimed within the usual no-show grace
    request = receiver.requests[0]
    assert signature_verify(
        header=request["headers"]["Kassa-Signature"], body=request["body"], secret=secret
    )

    with django_capture_on_commit_callbacks(execute=True):
        queue_services.room_tick(room=room, now=t0 + 4)  # number 4: cust-2
        queue_services.room_tick(room=room, now=t0 + 10)  # nobody new: nothing more
    refs = [b["data"]["queue"]["buyer_ref"] for b in receiver.bodies()]
    assert refs == ["cust-1", "cust-2"]
    assert WebhookDelivery.objects.filter(event_type="queue.admitted").count() == 2
    assert state.watched_admitted(room.pk, 10**9) == []

    # The admitted customer's pass works as any other (the usual claim window).
    status = Client().get("/api/v1/queue/status/", HTTP_X_QUEUE_TOKEN=ours["token"])
    assert status.status_code == 200 and status.json().get("pass")


def test_a_partner_customer_in_the_prequeue_is_told_once_the_shuffle_admits_them(
    partner, receiver, settings, gateway_outbox, django_capture_on_commit_callbacks
):
    settings.WEBHOOK_ALLOW_HTTP = True
    webhook_endpoint_create(partner=partner, url=receiver.url, events=["queue.admitted"])
    now = timezone.now()
    room = make_room(
        prequeue_opens_at=now - dt.timedelta(minutes=10),
        sale_opens_at=now + dt.timedelta(minutes=20),
        admission_rate_per_minute=60,
        max_active_shoppers=100,
    )
    visitors = [f"device:{i}" for i in range(4)] + ["partner:halyk:early-bird"]
    for visitor in visitors:
        assert queue_services.queue_join(room_id=room.pk, visitor=visitor).number == 0
    opens = room.sale_opens_at.timestamp()
    with django_capture_on_commit_callbacks(execute=True):
        queue_services.room_tick(room=room, now=opens + 1)  # the draw
        for second in range(2, 12):
            queue_services.room_tick(room=room, now=opens + second)
    assert int(state.read(room.pk)["serving"]) == 5  # everyone
    [body] = receiver.bodies()
    number = int(state.conn().hget(state.keys(room.pk)["map"], "partner:halyk:early-bird"))
    assert body["data"]["queue"]["buyer_ref"] == "early-bird"
    assert body["data"]["queue"]["number"] == number
