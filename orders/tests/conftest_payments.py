"""Fixtures of the payment/ticket tests (imported by them: `from ... import *`)."""

from __future__ import annotations

import json

import pytest

from orders.payments import sandbox
from orders.payments.messages import SANDBOX_CALLBACK
from orders.tests.factories import event_make, order_make
from ticketing import outbox as ticketing_outbox
from ticketing.models import OutboxMessage
from ticketing.outbox import outbox_deliver

CALLBACK_URL = "/api/v1/payments/sandbox/callback/"


class GatewayOutbox(list):
    """Callbacks the gateway queued (body, countdown), captured at their
    outbox message's fast path instead of being POSTed by a worker."""

    def bodies(self, status: str | None = None) -> list[dict]:
        return [body for body, _countdown in self if status in (None, body["status"])]


@pytest.fixture
def gateway_outbox(monkeypatch):
    """The outbox's fast path, run in the test: refunds and the ticket mail at
    once; a sandbox callback captured (the test posts it, or not) and left
    pending in the outbox, as it would be until a worker delivers it."""
    captured = GatewayOutbox()

    def enqueue(message_id, delay_seconds):
        message = OutboxMessage.objects.get(pk=message_id)
        if message.kind == SANDBOX_CALLBACK:
            captured.append((message.payload["body"], delay_seconds))
        else:
            outbox_deliver(message_id=message_id)

    monkeypatch.setattr(ticketing_outbox, "_enqueue", enqueue)
    return captured


@pytest.fixture
def passes_completed(monkeypatch):
    calls = []
    monkeypatch.setattr(
        "queueing.services.pass_complete", lambda **kw: calls.append(kw), raising=True
    )
    return calls


def post_callback(client, body: dict, *, signature: str | None = None):
    raw = json.dumps(body).encode()
    headers = {
        "HTTP_X_SANDBOX_SIGNATURE": signature if signature is not None else sandbox.sign(raw)
    }
    return client.post(CALLBACK_URL, data=raw, content_type="application/json", **headers)


def pay_with_card(client, payment, number: str, *, json_client: bool = False, **extra):
    fields = {
        "card_number": number,
        "exp_month": "12",
        "exp_year": "2099",
        "cvc": "123",
        "holder": "A TEST",
    }
    fields.update(extra)
    headers = {"HTTP_ACCEPT": "application/json"} if json_client else {}
    return client.post(f"/sandbox-gateway/pay/{payment.pk}/", fields, **headers)


@pytest.fixture
def event(db):
    return event_make(seats=6)


@pytest.fixture
def order(event):
    return order_make(event=event, seat_count=2)
