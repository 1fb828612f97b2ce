"""Reconciliation: a payment whose callback never came is asked from the
provider and settled like a callback (issue 15, item 1).

Real Postgres and real HTTP: the provider's status query goes over the wire
to the sandbox gateway on the live server; races run in real threads.
"""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from orders.models import Order, Ticket
from orders.tests.conftest_payments import *  # noqa: F403
from orders.tests.factories import (
    callback_body,
    order_expire_and_resell,
    pay_with_card,
    post_callback,
)
from payments import sandbox
from payments.models import Payment
from payments.services import payment_start, payments_reconcile
from ticketing.models import AuditEntry

NO_CALLBACK = "4000 0000 0000 0770"

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def gateway_on_live_server(live_server, settings):
    # The provider's status query goes to the gateway at SITE_URL, like callbacks.
    settings.SITE_URL = live_server.url
    return live_server.url


def _later(minutes: int = 3):
    return timezone.now() + timedelta(minutes=minutes)


def _charged_without_callback(order, outbox) -> Payment:
    payment, _url = payment_start(order=order)
    outbox.clear()
    assert pay_with_card(Client(), payment, NO_CALLBACK).status_code == 303
    assert outbox == []  # accepted, and the gateway never calls back
    return payment


def _actions(action: str) -> int:
    return AuditEntry.objects.filter(action=action).count()


def test_no_callback_card_is_settled_paid_by_reconciliation(
    order, gateway_outbox, gateway_on_live_server
):
    payment = _charged_without_callback(order, gateway_outbox)
    assert payments_reconcile(now=timezone.now()) == 0  # not due within the grace

    assert payments_reconcile(now=_later()) == 1

    order.refresh_from_db()
    payment.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert payment.status == Payment.Status.SUCCEEDED
    assert (payment.card_bin, payment.card_last4) == ("400000", "0770")
    assert Ticket.objects.filter(order=order).count() == 2
    entry = AuditEntry.objects.get(action="payment.reconciled")
    assert entry.data["status"] == "succeeded" and entry.data["result"] == "paid"


def test_reconciled_payment_whose_hold_is_gone_is_refunded(
    order, gateway_outbox, gateway_on_live_server
):
    payment = _charged_without_callback(order, gateway_outbox)
    order_expire_and_resell(order)

    assert payments_reconcile(now=_later()) == 1

    order.refresh_from_db()
    payment.refresh_from_db()
    assert order.status == Order.Status.REFUNDED
    assert payment.status == Payment.Status.REFUND_PENDING
    assert not Ticket.objects.filter(order=order).exists()
    # The refund was asked from the gateway; its callback completes it.
    [refunded] = gateway_outbox.bodies("refunded")
    assert post_callback(Client(), refunded).status_code == 200
    payment.refresh_from_db()
    assert payment.status == Payment.Status.REFUNDED


def test_late_duplicate_callback_after_reconciliation_changes_nothing(
    order, gateway_outbox, gateway_on_live_server
):
    payment = _charged_without_callback(order, gateway_outbox)
    assert payments_reconcile(now=_later()) == 1
    tickets = list(Ticket.objects.filter(order=order).values_list("code", flat=True))

    late = callback_body(
        payment=payment,
        status="succeeded",
        event_id="evt_late",
        card={"brand": "visa", "bin": "400000", "last4": "0770"},
    )
    assert post_callback(Client(), late).status_code == 200
    assert post_callback(Client(), late).status_code == 200
    # And reconciliation again: the payment is settled, so it is not due.
    assert payments_reconcile(now=_later(60)) == 0

    assert list(Ticket.objects.filter(order=order).values_list("code", flat=True)) == tickets
    assert _actions("order.paid") == 1
    assert _actions("payment.succeeded") == 1
    assert _actions("payment.reconciled") == 1
    payment.refresh_from_db()
    assert payment.status == Payment.Status.SUCCEEDED


def test_two_racing_reconcile_runs_settle_once(order, gateway_outbox, gateway_on_live_server):
    payment = _charged_without_callback(order, gateway_outbox)
    now, barrier, results, errors = _later(), threading.Barrier(2), [], []

    def run():
        try:
            barrier.wait()
            results.append(payments_reconcile(now=now))
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert sorted(results) == [0, 1]
    assert _actions("payment.reconciled") == 1
    assert _actions("order.paid") == 1
    assert Ticket.objects.filter(order=order).count() == 2
    payment.refresh_from_db()
    assert payment.status == Payment.Status.SUCCEEDED


def test_payment_never_charged_backs_off_and_stays_payable(
    order, gateway_outbox, gateway_on_live_server
):
    payment, _url = payment_start(order=order)
    assert payments_reconcile(now=_later()) == 0  # asked; the gateway says "created"
    payment.refresh_from_db()
    assert payment.status == Payment.Status.CREATED
    assert payment.reconcile_attempts == 1
    first = payment.reconcile_after
    assert first > _later()
    assert payments_reconcile(now=_later()) == 0  # backed off: not asked again yet
    payment.refresh_from_db()
    assert payment.reconcile_attempts == 1
    assert payments_reconcile(now=first + timedelta(seconds=1)) == 0
    payment.refresh_from_db()
    assert payment.reconcile_attempts == 2 and payment.reconcile_after > first


def test_reconciliation_that_gives_up_says_so(
    order, gateway_outbox, gateway_on_live_server, settings, caplog
):
    # It used to stop after the last attempt in silence: nobody asked again
    # and nobody was told.
    settings.PAYMENT_RECONCILE_MAX_ATTEMPTS = 2
    payment, _url = payment_start(order=order)
    assert payments_reconcile(now=_later()) == 0  # attempt 1: "created", backed off
    assert _actions("payment.reconcile_gave_up") == 0
    payment.refresh_from_db()
    with caplog.at_level("ERROR", logger="payments.services"):
        assert payments_reconcile(now=payment.reconcile_after) == 0  # the last
    payment.refresh_from_db()
    assert payment.reconcile_after is None and payment.reconcile_attempts == 2
    entry = AuditEntry.objects.get(action="payment.reconcile_gave_up")
    assert entry.object_id == str(payment.pk)
    assert entry.data["attempts"] == 2 and entry.data["answer"] == "created"
    assert "reconciliation gave up" in caplog.text
    assert payments_reconcile(now=_later(24 * 60)) == 0  # left alone, not audited again
    assert _actions("payment.reconcile_gave_up") == 1


def test_provider_error_backs_off_without_settling(
    order, gateway_outbox, gateway_on_live_server, settings
):
    payment = _charged_without_callback(order, gateway_outbox)
    settings.SANDBOX_URL = "http://127.0.0.1:9"  # nothing listens: the query fails
    assert payments_reconcile(now=_later()) == 0
    payment.refresh_from_db()
    assert payment.status == Payment.Status.CREATED
    assert payment.reconcile_attempts == 1 and payment.reconcile_after > _later()


def test_reconcile_is_bounded_per_run(event, gateway_outbox, gateway_on_live_server):
    from orders.tests.factories import order_make

    payments = [payment_start(order=order_make(event=event, seat_count=1))[0] for _ in range(3)]
    for payment in payments:
        assert pay_with_card(Client(), payment, NO_CALLBACK).status_code == 303
    assert payments_reconcile(now=_later(), batch=2) == 2
    assert payments_reconcile(now=_later(), batch=2) == 1


def _status_path(payment) -> str:
    return f"/sandbox-gateway/api/payments/{payment.pk}/"


def test_status_endpoint_answers_a_signed_query(client, order, gateway_outbox):
    payment = _charged_without_callback(order, gateway_outbox)
    path = _status_path(payment)
    response = client.get(path, HTTP_X_SANDBOX_SIGNATURE=sandbox.sign(path.encode()))
    assert response.status_code == 200
    assert response.json() == {
        "payment_id": str(payment.pk),
        "status": "succeeded",
        "amount": str(payment.amount),
        "currency": payment.currency,
        "card": {"brand": "visa", "bin": "400000", "last4": "0770"},
        "refunded_amount": "0.00",
    }


@pytest.mark.parametrize("signature", [None, "", "sha256=00", "other-path"])
def test_status_endpoint_refuses_a_bad_signature(client, order, gateway_outbox, signature):
    payment = _charged_without_callback(order, gateway_outbox)
    headers = {}
    if signature == "other-path":
        # Signed for another payment: not valid for this one.
        headers["HTTP_X_SANDBOX_SIGNATURE"] = sandbox.sign(
            b"/sandbox-gateway/api/payments/00000000-0000-0000-0000-000000000000/"
        )
    elif signature is not None:
        headers["HTTP_X_SANDBOX_SIGNATURE"] = signature
    response = client.get(_status_path(payment), **headers)
    assert response.status_code == 401
    assert "status" not in response.json()


def test_status_endpoint_answers_created_for_a_payment_it_never_saw(client):
    # The buyer never opened the payment link: the gateway never charged it.
    path = "/sandbox-gateway/api/payments/00000000-0000-0000-0000-000000000000/"
    response = client.get(path, HTTP_X_SANDBOX_SIGNATURE=sandbox.sign(path.encode()))
    assert response.status_code == 200 and response.json()["status"] == "created"


def test_reconcile_runs_periodically_on_the_main_queue(settings):
    # It does HTTP to the provider: never on the ticks queue behind the 1 s tick.
    from payments import tasks
    from ticketing.celery import app

    entry = settings.CELERY_BEAT_SCHEDULE["orders.payments_reconcile"]
    assert entry["task"] == tasks.payments_reconcile.name == "orders.payments_reconcile"
    assert 0 < entry["schedule"] <= settings.PAYMENT_RECONCILE_GRACE_SECONDS
    route = app.amqp.Router().route({}, entry["task"])
    assert route["queue"].name == app.conf.task_default_queue
