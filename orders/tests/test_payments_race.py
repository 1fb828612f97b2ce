from __future__ import annotations

import threading

import pytest
from django.db import connection
from django.test import Client

from orders.models import Order, PaymentCallback
from orders.payments.services import payment_start
from orders.tests.conftest_payments import gateway_outbox, pay_with_card, post_callback  # noqa: F401
from orders.tests.factories import event_make, order_make


def _race(body_for, racers: int) -> list[str]:
    barrier = threading.Barrier(racers)
    results: list[str] = []
    lock = threading.Lock()

    def run(index: int):
        try:
            client = Client()
            barrier.wait()
            response = post_callback(client, body_for(index))
            with lock:
                results.append(response.json()["result"])
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


@pytest.mark.django_db(transaction=True)
def test_parallel_duplicate_and_repeated_callbacks_sell_once(gateway_outbox):  # noqa: F811
    order = order_make(event=event_make(seats=4), seat_count=2)
    payment, _url = payment_start(order=order)
    assert pay_with_card(Client(), payment, "4400 4300 0000 0001").status_code == 303
    [body] = gateway_outbox.bodies()
    # Half repeat the same event (duplicates), half are distinct events for the same success.
    results = _race(lambda i: body if i % 2 else {**body, "event_id": f"evt_{i}"}, racers=30)
    assert results.count("paid") == 1
    assert set(results) <= {"paid", "duplicate", "ignored"}
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert order.tickets.count() == 2
    assert PaymentCallback.objects.filter(event_id=body["event_id"]).count() == 1
