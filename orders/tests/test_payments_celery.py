"""The one end-to-end proof that callbacks travel through the real broker and worker."""

from __future__ import annotations

import pytest
from django.test import Client

from orders.models import Order
from orders.tests.factories import event_make, order_make
from payments.models import Payment
from payments.services import payment_start
from ticketing.tests.factories import wait_for


@pytest.fixture
def site_on_live_server(live_server, monkeypatch, settings):
    # The worker subprocess copies os.environ when it starts: set SITE_URL first.
    monkeypatch.setenv("SITE_URL", live_server.url)
    settings.SITE_URL = live_server.url
    return live_server.url


@pytest.mark.slow
def test_gateway_callback_is_delivered_by_the_worker(site_on_live_server, celery_worker_process):
    order = order_make(event=event_make(seats=2), seat_count=2)
    payment, redirect_url = payment_start(order=order)
    response = Client().post(
        redirect_url,
        {
            "card_number": "4400 4300 0000 0001",
            "exp_month": "12",
            "exp_year": "2099",
            "cvc": "123",
            "holder": "A TEST",
        },
    )
    assert response.status_code == 303

    def paid():
        order.refresh_from_db()
        return order.status == Order.Status.PAID

    _queue, log_path = celery_worker_process
    try:
        wait_for(paid, timeout=30)
    except BaseException:
        print(log_path.read_text())
        raise
    payment.refresh_from_db()
    assert payment.status == Payment.Status.SUCCEEDED
    assert order.tickets.count() == 2
    assert payment.callbacks.count() == 1
    assert "ticketing.outbox_deliver" in log_path.read_text()  # the fast path, not the sweep
