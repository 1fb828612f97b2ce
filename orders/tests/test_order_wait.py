"""GET orders/{id}/?wait=N: one read answered when the payment settles (orders/waits.py)."""

from __future__ import annotations

import threading
import time
import uuid

import pytest
from django.test import Client

from orders.tests.factories import callback_body, post_callback, seat_ids
from orders.waits import KEY
from payments.models import Payment

THREADED = {"wsgi.multithread": True}  # what gunicorn's gthread worker says


def _post(client: Client, path: str, body: dict, **headers):
    return client.post(path, data=body, content_type="application/json", headers=headers)


def _pending_order(event) -> tuple[Client, dict, Payment]:
    buyer = Client()
    hold = _post(buyer, "/api/v1/holds/", {"event": event.slug, "seats": seat_ids(event)[:2]})
    order = _post(
        buyer, "/api/v1/orders/", {"hold": hold.json()["id"], "email": "a@example.com", "name": "A"}
    ).json()
    started = _post(
        buyer,
        f"/api/v1/orders/{order['id']}/payments/",
        {},
        **{"X-Order-Token": order["access_token"]},
    )
    return buyer, order, Payment.objects.get(pk=started.json()["payment_id"])


def _read(buyer: Client, order: dict, query: str = "", **extra):
    path = f"/api/v1/orders/{order['id']}/{query}"
    return buyer.get(path, headers={"X-Order-Token": order["access_token"]}, **extra)


def _succeeded(payment: Payment) -> dict:
    return callback_body(
        payment=payment, status="succeeded", event_id=uuid.uuid4().hex,
        card={"brand": "visa", "bin": "440043", "last4": "0001"},
    )  # fmt: skip


@pytest.mark.django_db(transaction=True)
def test_a_wait_is_answered_when_the_callback_settles_the_order(event, settings):
    settings.ORDER_WAIT_SLOTS = 2
    buyer, order, payment = _pending_order(event)
    body = _succeeded(payment)
    callback = threading.Timer(0.5, lambda: post_callback(Client(), body))
    callback.start()
    started = time.monotonic()
    try:
        read = _read(buyer, order, "?wait=10", **THREADED)
    finally:
        callback.join()
    assert read.status_code == 200
    assert read.json()["status"] == "paid"
    assert 0.4 < time.monotonic() - started < 5


@pytest.mark.django_db(transaction=True)
def test_a_wait_that_starts_after_the_settlement_returns_at_once(event, settings):
    # The pushed element stays (BLMOVE to itself): no window between the
    # view's read of the order and its wait in which a settlement is missed.
    settings.ORDER_WAIT_SLOTS = 2
    buyer, order, _payment = _pending_order(event)
    from orders.waits import order_settled_notify

    order_settled_notify(order_id=order["id"])
    for _ in range(2):  # every waiter is woken, not only the first
        started = time.monotonic()
        assert _read(buyer, order, "?wait=10", **THREADED).status_code == 200
        assert time.monotonic() - started < 2


@pytest.mark.django_db
def test_a_wait_ends_at_its_time_with_the_order_as_it_is(event, settings):
    settings.ORDER_WAIT_SLOTS = 2
    buyer, order, _payment = _pending_order(event)
    started = time.monotonic()
    read = _read(buyer, order, "?wait=1", **THREADED)
    assert read.json()["status"] == "pending_payment"
    assert 0.9 < time.monotonic() - started < 4


@pytest.mark.django_db
def test_a_sync_server_or_no_free_slot_answers_at_once(event, settings):
    settings.ORDER_WAIT_SLOTS = 2
    buyer, order, _payment = _pending_order(event)
    started = time.monotonic()
    assert _read(buyer, order, "?wait=10").json()["status"] == "pending_payment"  # sync
    settings.ORDER_WAIT_SLOTS = 0
    assert _read(buyer, order, "?wait=10", **THREADED).json()["status"] == "pending_payment"
    assert time.monotonic() - started < 2


@pytest.mark.django_db
def test_a_bad_wait_is_a_validation_error(event):
    buyer, order, _payment = _pending_order(event)
    for bad in ("-1", "soon"):
        read = _read(buyer, order, f"?wait={bad}")
        assert read.status_code == 400
        assert read.json()["error"]["code"] == "validation_error"
        assert "wait" in read.json()["error"]["details"]


@pytest.mark.django_db
def test_the_settling_commit_wakes_the_waiters(
    event, redis_conn, django_capture_on_commit_callbacks
):
    _buyer, order, payment = _pending_order(event)
    key = KEY.format(order_id=order["id"])
    body = _succeeded(payment)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert post_callback(Client(), body).json() == {"result": "paid"}
    assert redis_conn.llen(key) == 0  # nothing before the commit
    for callback in callbacks:
        callback()
    assert redis_conn.llen(key) == 1
    assert post_callback(Client(), body).json() == {"result": "duplicate"}
    assert redis_conn.llen(key) == 1  # a duplicate settles nothing
