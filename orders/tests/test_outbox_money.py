"""Money-moving work survives a Redis loss (issue 15, item 2).

The issue's scenario, on the real stack pieces: the Celery broker and the
cache are the test's real Redis database, callbacks go over real HTTP to the
live server, and nothing but the outbox sweep (and reconciliation, as beat
would run them) drives the work after the FLUSHALL. No worker runs.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from orders.models import Order, Ticket
from orders.tests.factories import event_make, order_make, pay_with_card
from payments import sandbox
from payments.messages import CONFIRMATION_MAIL, REFUND
from payments.models import Payment
from payments.services import order_refund, payment_start, payments_reconcile
from sandbox.gateway import CALLBACK_KIND as SANDBOX_CALLBACK
from sandbox.models import SandboxCharge
from ticketing.celery import app
from ticketing.models import AuditEntry, OutboxMessage
from ticketing.outbox import outbox_sweep

pytestmark = pytest.mark.django_db(transaction=True)

PARTNER_VISA = "4400 4300 0000 0001"
NO_CALLBACK = "4000 0000 0000 0770"
DUPLICATE = "4400 4300 0000 0019"


@pytest.fixture
def site(live_server, settings):
    # The outbox's callback deliveries and the status query go to SITE_URL.
    settings.SITE_URL = live_server.url
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    return live_server.url


def _later(seconds: int = 60):
    return timezone.now() + timedelta(seconds=seconds)


def _sweep_until_idle(rounds: int = 5) -> int:
    """What beat does every few seconds: sweep (past the grace) until nothing is due."""
    total = 0
    for _round in range(rounds):
        delivered = outbox_sweep(now=_later())
        total += delivered
        if not delivered:
            break
    return total


def _pending(kind: str) -> int:
    return OutboxMessage.objects.filter(kind=kind, done_at__isnull=True).count()


def _paid_order(event) -> Order:
    order = order_make(event=event, seat_count=2)
    payment, _url = payment_start(order=order)
    assert pay_with_card(Client(), payment, PARTNER_VISA).status_code == 303
    _sweep_until_idle()
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    return order


def test_a_refund_and_a_callback_queued_before_a_flushall_still_happen(site, redis_conn):
    event = event_make(seats=4)
    refunded_order = _paid_order(event)
    refunded_payment = refunded_order.payments.get()
    mail.outbox.clear()
    queued = redis_conn.llen(app.conf.task_default_queue)

    # Staff refund one order; another buyer's card is charged. Both commit
    # their work, whose fast path is a Celery message in Redis...
    order_refund(order=refunded_order)
    charged_order = order_make(event=event, seat_count=2)
    charged_payment, _url = payment_start(order=charged_order)
    assert pay_with_card(Client(), charged_payment, PARTNER_VISA).status_code == 303
    assert redis_conn.llen(app.conf.task_default_queue) == queued + 2
    assert (_pending(REFUND), _pending(SANDBOX_CALLBACK)) == (1, 1)

    # ...and Redis loses everything before any worker ran.
    redis_conn.flushdb()
    refunded_payment.refresh_from_db()
    assert refunded_payment.status == Payment.Status.REFUND_PENDING

    # Beat's sweep (and reconciliation) drive the work from Postgres alone.
    assert _sweep_until_idle() >= 4  # refund, callback, then its mail and the refund's callback
    assert payments_reconcile(now=_later(600)) == 0  # nothing left to ask about

    refunded_payment.refresh_from_db()
    refunded_order.refresh_from_db()
    assert refunded_payment.status == Payment.Status.REFUNDED
    assert refunded_order.status == Order.Status.REFUNDED
    assert SandboxCharge.objects.get(payment_id=refunded_payment.pk).status == "refunded"

    charged_payment.refresh_from_db()
    charged_order.refresh_from_db()
    assert charged_payment.status == Payment.Status.SUCCEEDED
    assert charged_order.status == Order.Status.PAID
    assert Ticket.objects.filter(order=charged_order, status="valid").count() == 2
    assert [m.to for m in mail.outbox] == [[charged_order.email]]  # one mail, once
    assert not OutboxMessage.objects.filter(done_at__isnull=True).exists()


def test_the_gateway_remembers_a_charge_through_a_flushall(site, redis_conn):
    # A charge whose callback never comes is settled by reconciliation, which
    # trusts the gateway's status answer: that answer must not live in Redis.
    order = order_make(event=event_make(seats=2), seat_count=2)
    payment, _url = payment_start(order=order)
    assert pay_with_card(Client(), payment, NO_CALLBACK).status_code == 303
    redis_conn.flushdb()

    path = f"/sandbox-gateway/api/payments/{payment.pk}/"
    answer = Client().get(path, HTTP_X_SANDBOX_SIGNATURE=sandbox.sign(path.encode())).json()
    assert answer["status"] == "succeeded"
    assert answer["card"] == {"brand": "visa", "bin": "400000", "last4": "0770"}

    assert payments_reconcile(now=_later(180)) == 1
    order.refresh_from_db()
    assert order.status == Order.Status.PAID


def test_a_form_posted_again_after_a_flushall_charges_once(site, redis_conn):
    order = order_make(event=event_make(seats=2), seat_count=2)
    payment, _url = payment_start(order=order)
    assert pay_with_card(Client(), payment, PARTNER_VISA).status_code == 303
    redis_conn.flushdb()  # the old "already charged" key lived here
    assert pay_with_card(Client(), payment, PARTNER_VISA).status_code == 303
    assert SandboxCharge.objects.filter(payment_id=payment.pk).count() == 1
    assert OutboxMessage.objects.filter(kind=SANDBOX_CALLBACK).count() == 1


def test_the_duplicate_card_queues_two_deliveries_and_sells_once(site):
    order = order_make(event=event_make(seats=2), seat_count=2)
    payment, _url = payment_start(order=order)
    assert pay_with_card(Client(), payment, DUPLICATE).status_code == 303
    assert OutboxMessage.objects.filter(kind=SANDBOX_CALLBACK).count() == 2
    _sweep_until_idle()
    assert payment.callbacks.count() == 1
    assert AuditEntry.objects.filter(action="order.paid").count() == 1
    assert OutboxMessage.objects.filter(kind=CONFIRMATION_MAIL).count() == 1


def test_a_merchant_that_is_down_gets_the_callback_later(site, settings, caplog):
    order = order_make(event=event_make(seats=2), seat_count=2)
    payment, _url = payment_start(order=order)
    settings.SITE_URL = "http://127.0.0.1:9"  # the merchant's address: nothing listens
    assert pay_with_card(Client(), payment, PARTNER_VISA).status_code == 303
    with caplog.at_level(logging.WARNING, logger="ticketing.outbox"):
        assert outbox_sweep(now=_later()) == 0
    message = OutboxMessage.objects.get(kind=SANDBOX_CALLBACK)
    assert message.attempts == 1 and message.due_at is not None
    assert "Connection refused" in message.last_error or "URLError" in message.last_error

    # The merchant is back (at the live server's address): the retry delivers it.
    settings.SITE_URL = site
    message.payload["url"] = site + "/api/v1/payments/sandbox/callback/"
    OutboxMessage.objects.filter(pk=message.pk).update(
        due_at=timezone.now(), payload=message.payload
    )
    _sweep_until_idle()
    order.refresh_from_db()
    assert order.status == Order.Status.PAID


def test_a_refund_pending_from_before_the_outbox_is_re_driven(site):
    order = _paid_order(event_make(seats=2))
    payment = order.payments.get()
    # As a refund requested before this change left it: refund_pending, its
    # only record a Celery message that Redis lost; no outbox row.
    Payment.objects.filter(pk=payment.pk).update(status=Payment.Status.REFUND_PENDING)
    assert not OutboxMessage.objects.filter(kind=REFUND).exists()

    payments_reconcile()
    payments_reconcile()  # one message, not one per run
    assert OutboxMessage.objects.filter(kind=REFUND).count() == 1
    _sweep_until_idle()
    payment.refresh_from_db()
    assert payment.status == Payment.Status.REFUNDED
    payments_reconcile()
    assert OutboxMessage.objects.filter(kind=REFUND).count() == 1
