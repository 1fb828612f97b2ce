"""Fixtures of the payment/ticket tests (imported by them: `from ... import *`); the
helpers they call (post_callback, pay_with_card) are in orders/tests/factories.py."""

from __future__ import annotations

import pytest

from orders.tests.factories import event_make, order_make, pay_with_card, post_callback  # noqa: F401
from sandbox.gateway import CALLBACK_KIND as SANDBOX_CALLBACK
from ticketing import outbox as ticketing_outbox
from ticketing.models import OutboxMessage
from ticketing.outbox import outbox_deliver


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


@pytest.fixture
def event(db):
    return event_make(seats=6)


@pytest.fixture
def order(event):
    return order_make(event=event, seat_count=2)
