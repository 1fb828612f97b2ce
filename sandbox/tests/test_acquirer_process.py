"""The sandbox acquirer run as a process of its own (sandbox.settings): kassa
(the live server) and the acquirer talk over HTTP only, and a payment and its
refund settle with the acquirer's own deliverer posting the callbacks."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import timedelta

import pytest
from django.utils import timezone

from conftest import ROOT, _test_database_url
from orders.models import Order
from orders.tests.factories import event_make, order_make
from payments.messages import REFUND
from payments.models import Payment
from payments.services import order_refund, payment_start
from sandbox.models import SandboxCharge
from ticketing.outbox import outbox_sweep

pytestmark = pytest.mark.django_db(transaction=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def static_root(tmp_path_factory):
    """The acquirer's pages are served with their hashed static files, as in
    production: one collectstatic for the module."""
    root = tmp_path_factory.mktemp("static")
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"],
        cwd=ROOT, env={**os.environ, "STATIC_ROOT": str(root)}, check=True, capture_output=True,
    )  # fmt: skip
    return root


@pytest.fixture
def acquirer(tmp_path, static_root, transactional_db, live_server, settings):
    """gunicorn sandbox.wsgi and its `outbox_work` deliverer, on the test database."""
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": _test_database_url(),
        "DJANGO_SETTINGS_MODULE": "sandbox.settings",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path),
        "STATIC_ROOT": str(static_root),
    }
    gunicorn = str(ROOT / ".venv" / "bin" / "gunicorn")
    argv = [gunicorn, "sandbox.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "1"]
    deliver = [sys.executable, "manage.py", "outbox_work", "--kind", "sandbox.callback"]
    logs = [(tmp_path / "web.log").open("wb"), (tmp_path / "deliver.log").open("wb")]
    procs = [
        subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        for cmd, log in zip((argv, deliver), logs, strict=True)
    ]
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(url + "/healthz", timeout=2).close()
                break
            except OSError:
                if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
                    raise RuntimeError((tmp_path / "web.log").read_text()) from None
                time.sleep(0.2)
        settings.SITE_URL = live_server.url  # as the launcher sets it for kassa
        settings.SANDBOX_URL = url
        yield url
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(15)
        for log in logs:
            log.close()


def _until(check, seconds: float = 20):
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("not settled in time")
        time.sleep(0.2)


def test_a_payment_and_its_refund_settle_with_the_acquirer_in_its_own_process(acquirer):
    order = order_make(event=event_make(seats=2), seat_count=2)
    payment, link = payment_start(order=order)
    assert link.startswith(f"{acquirer}/sandbox-gateway/pay/{payment.pk}/?p=")

    form = urllib.request.urlopen(link, timeout=10).read().decode()
    assert f"order {order.code}" in form or order.code in form
    fields = {"card_number": "4400 4300 0000 0001", "exp_month": "12", "exp_year": "2099"}
    request = urllib.request.Request(
        link,
        data=urllib.parse.urlencode({**fields, "cvc": "123"}).encode(),
        headers={"Accept": "application/json"},
    )
    answer = json.loads(urllib.request.urlopen(request, timeout=10).read())
    assert answer["status"] == "accepted"
    assert answer["redirect_url"].startswith(f"{settings_site(order)}/orders/{order.code}/return/")

    # The acquirer's deliverer posts the callback to kassa: the order is paid.
    _until(lambda: Order.objects.get(pk=order.pk).status == Order.Status.PAID)
    assert order.tickets.count() == 2

    order_refund(order=Order.objects.get(pk=order.pk))
    # kassa's side of the refund (its outbox) asks the acquirer over HTTP ...
    outbox_sweep(kinds=[REFUND], now=timezone.now() + timedelta(minutes=1))
    # ... whose deliverer answers with the `refunded` callback.
    _until(lambda: Payment.objects.get(pk=payment.pk).status == Payment.Status.REFUNDED)
    charge = SandboxCharge.objects.get(payment_id=payment.pk)
    assert (charge.status, charge.refunded_amount) == ("refunded", payment.amount)
    assert Order.objects.get(pk=order.pk).status == Order.Status.REFUNDED


def test_the_acquirer_process_serves_nothing_of_kassa(acquirer):
    for path in ("/", "/admin/", "/api/v1/events/"):
        with pytest.raises(urllib.error.HTTPError) as answer:
            urllib.request.urlopen(acquirer + path, timeout=10)
        assert answer.value.code == 404


def settings_site(order) -> str:
    from django.conf import settings

    return settings.SITE_URL
