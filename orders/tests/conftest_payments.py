"""Fixtures of the payment/ticket tests (imported by them: `from ... import *`)."""

from __future__ import annotations

import json

import pytest

from orders.payments import sandbox, tasks
from orders.tests.factories import event_make, order_make

CALLBACK_URL = "/api/v1/payments/sandbox/callback/"


class GatewayOutbox(list):
    """Callbacks the gateway queued, captured instead of going to the broker."""

    def bodies(self, status: str | None = None) -> list[dict]:
        return [body for body, _countdown in self if status in (None, body["status"])]


@pytest.fixture
def gateway_outbox(monkeypatch):
    outbox = GatewayOutbox()
    monkeypatch.setattr(
        tasks.deliver_sandbox_callback,
        "apply_async",
        lambda args, countdown=0, **kw: outbox.append((args[0], countdown)),
    )
    # Refunds run the provider at once (it queues a `refunded` callback above).
    monkeypatch.setattr(
        tasks.payment_refund_issue,
        "delay",
        lambda payment_id: tasks.payment_refund_issue(payment_id),
    )
    monkeypatch.setattr(
        tasks.order_confirmation_send, "delay", lambda oid: tasks.order_confirmation_send(oid)
    )
    return outbox


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
