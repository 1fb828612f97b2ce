"""A deliverer SIGKILLed while the partner holds its request open: the lease
runs out, another deliverer sends it again with the same Kassa-Event-Id, the
partner (deduping on it) acts once. Real processes, real HTTP, real Postgres."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from django.db import transaction

from conftest import ROOT, _test_database_url
from partners.models import WebhookAttempt, WebhookDelivery
from partners.services import webhook_event_record
from ticketing.models import OutboxMessage

LEASE_SECONDS = 2


def _deliverer(tmp_path, name: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": _test_database_url(),
        "OUTBOX_LEASE_SECONDS": str(LEASE_SECONDS),
        "WEBHOOK_ALLOW_PRIVATE_HOSTS": "true",  # the receiver is on 127.0.0.1
    }
    log = (tmp_path / f"{name}.log").open("wb")
    return subprocess.Popen(
        [sys.executable, "manage.py", "outbox_work", "--kind", "partners.webhook",
         "--interval", "0.1", "--threads", "2"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip


def _wait(predicate, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting: {what}"
        time.sleep(0.1)


@pytest.mark.django_db(transaction=True)
def test_a_deliverer_killed_mid_delivery_is_finished_by_another_and_acted_on_once(
    partner, endpoint, receiver, settings, tmp_path
):
    settings.OUTBOX_FAST_PATH = False  # the deliverer processes alone deliver
    settings.OUTBOX_GRACE_SECONDS = 0
    receiver.hold.set()  # the first request is held open
    with transaction.atomic():
        webhook_event_record(partner_id=partner.pk, event_type="order.paid", data={"n": 1})
    delivery = WebhookDelivery.objects.get()

    first = _deliverer(tmp_path, "first")
    try:
        assert receiver.got_request.wait(30), (tmp_path / "first.log").read_text()
        first.send_signal(signal.SIGKILL)  # mid-delivery: the partner has the request
        first.wait(10)
    finally:
        if first.poll() is None:
            first.kill()
    receiver.release.set()
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.PENDING  # nobody saw the answer
    assert not WebhookAttempt.objects.exists()

    second = _deliverer(tmp_path, "second")
    try:
        _wait(
            lambda: WebhookDelivery.objects.get(pk=delivery.pk).status == "succeeded",
            "the second deliverer's delivery",
        )
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(30)

    event_id = str(delivery.event_id)
    assert len(receiver.requests) == 2  # at least once: the partner saw it twice
    assert [r["headers"]["Kassa-Event-Id"] for r in receiver.requests] == [event_id] * 2
    assert receiver.effects == [event_id]  # and, deduping, acted once
    assert list(WebhookAttempt.objects.values_list("status_code", flat=True)) == [200]
    message = OutboxMessage.objects.get(kind="partners.webhook")
    assert message.done_at is not None and message.attempts == 2
