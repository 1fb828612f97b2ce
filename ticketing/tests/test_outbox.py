"""The transactional outbox (ticketing.outbox): real Postgres, real Redis broker,
real threads for the claim race."""

from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone
from prometheus_client import REGISTRY

from ticketing import outbox
from ticketing.models import OutboxMessage
from ticketing.outbox import outbox_deliver, outbox_purge, outbox_put, outbox_sweep


class Recorder:
    """A test handler: records each payload it ran, optionally failing first."""

    def __init__(self, *, fail: int = 0, sleep: float = 0) -> None:
        self.runs: list[dict] = []
        self.fail, self.sleep = fail, sleep
        self.lock = threading.Lock()

    def __call__(self, payload: dict) -> None:
        with self.lock:
            self.runs.append(payload)
            failing = len(self.runs) <= self.fail
        time.sleep(self.sleep)
        if failing:
            raise ConnectionError("merchant down")


@pytest.fixture
def handler(monkeypatch):
    recorder = Recorder()
    monkeypatch.setitem(outbox._HANDLERS, "test.work", recorder)
    return recorder


def _put(**kwargs) -> OutboxMessage:
    with transaction.atomic():
        return outbox_put(kind="test.work", payload={"n": 1}, **kwargs)


def _later(seconds: float):
    return timezone.now() + timedelta(seconds=seconds)


def _counted(kind: str, outcome: str) -> float:
    value = REGISTRY.get_sample_value("kassa_outbox_total", {"kind": kind, "outcome": outcome})
    return value or 0.0


@pytest.mark.django_db(transaction=True)  # autocommit, as a Celery task or a script runs
def test_put_outside_a_transaction_is_refused(handler):
    # In autocommit there is no decision for the row to commit with.
    with pytest.raises(RuntimeError):
        outbox_put(kind="test.work", payload={})
    assert not OutboxMessage.objects.exists()


@pytest.mark.django_db
def test_put_rolled_back_with_its_transaction_leaves_no_work(handler):
    with pytest.raises(ZeroDivisionError), transaction.atomic():
        outbox_put(kind="test.work", payload={})
        1 / 0  # noqa: B018 - the deciding transaction fails
    assert not OutboxMessage.objects.exists()


@pytest.mark.django_db
def test_fast_path_runs_a_due_message_once_and_marks_it_done(handler):
    message = _put()
    assert outbox_deliver(message_id=message.pk) is True
    assert outbox_deliver(message_id=message.pk) is False  # done: not again
    assert outbox_sweep(now=_later(3600)) == 0
    message.refresh_from_db()
    assert handler.runs == [{"n": 1}]
    assert message.done_at is not None and message.due_at is None
    assert message.attempts == 1 and message.state == "done"


@pytest.mark.django_db
def test_first_due_for_the_sweep_only_after_the_grace(handler, settings):
    settings.OUTBOX_GRACE_SECONDS = 10
    message = _put()
    assert outbox_sweep() == 0  # the fast path has it in the normal case
    assert outbox_sweep(now=_later(11)) == 1
    message.refresh_from_db()
    assert message.state == "done"


@pytest.mark.django_db
def test_a_delayed_message_is_not_run_early(handler):
    message = _put(delay_seconds=60)
    # A Celery message delivered early (or the sweep) must not cut the delay.
    assert outbox_deliver(message_id=message.pk) is False
    assert outbox_sweep() == 0
    assert outbox_deliver(message_id=message.pk, now=_later(30)) is False
    assert handler.runs == []
    assert outbox_deliver(message_id=message.pk, now=_later(61)) is True
    assert handler.runs == [{"n": 1}]


@pytest.mark.django_db
def test_a_failing_handler_is_retried_with_growing_back_off(handler, caplog):
    handler.fail = 2
    message = _put()
    before = _counted("test.work", "retry")
    with caplog.at_level(logging.WARNING, logger="ticketing.outbox"):
        assert outbox_deliver(message_id=message.pk) is False
    message.refresh_from_db()
    assert message.attempts == 1 and message.state == "pending"
    assert "ConnectionError: merchant down" in message.last_error
    first_wait = message.due_at - timezone.now()
    assert timedelta(seconds=1) < first_wait <= timedelta(seconds=2)
    assert "failed, attempt 1" in caplog.text

    # A redelivered Celery message does not cut the back-off; the sweep waits for it.
    assert outbox_deliver(message_id=message.pk, now=_later(3600)) is False
    assert outbox_sweep() == 0
    assert outbox_sweep(now=message.due_at) == 0  # fails again
    message.refresh_from_db()
    assert message.attempts == 2
    assert message.due_at - timezone.now() > first_wait  # doubled
    assert outbox_sweep(now=message.due_at) == 1
    message.refresh_from_db()
    assert message.state == "done" and message.last_error == ""
    assert len(handler.runs) == 3
    assert _counted("test.work", "retry") == before + 2


def test_back_off_doubles_up_to_ten_minutes():
    waits = [outbox._backoff(n).total_seconds() for n in (1, 2, 3, 9, 10, 50)]
    assert waits == [2, 4, 8, 512, 600, 600]


@pytest.mark.django_db
def test_gives_up_after_the_last_attempt_and_says_so(handler, settings, caplog):
    settings.OUTBOX_MAX_ATTEMPTS = 3
    handler.fail = 100
    message = _put()
    before = _counted("test.work", "given_up")
    with caplog.at_level(logging.WARNING, logger="ticketing.outbox"):
        for _attempt in range(5):
            outbox_sweep(now=_later(3600))
    message.refresh_from_db()
    assert len(handler.runs) == 3
    assert message.attempts == 3 and message.state == "given_up"
    assert message.due_at is None and message.done_at is None
    assert "merchant down" in message.last_error
    [error] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert error.action == "outbox.given_up" and error.outbox_id == message.pk
    assert _counted("test.work", "given_up") == before + 1


@pytest.mark.django_db
def test_a_message_of_an_unknown_kind_waits_for_its_handler(settings):
    # A newer release's kind, or another process's (the sandbox acquirer run
    # on its own delivers its callbacks there): neither the fast path nor the
    # sweep of a process without its handler touches it.
    with transaction.atomic():
        message = outbox_put(kind="test.from_a_newer_release", payload={})
    assert outbox_deliver(message_id=message.pk) is False
    assert outbox_sweep(now=_later(3600)) == 0
    message.refresh_from_db()
    assert message.state == "pending" and message.attempts == 0 and not message.last_error


@pytest.mark.django_db(transaction=True)
def test_two_runs_claiming_one_message_run_its_handler_once(handler):
    handler.sleep = 0.3  # both runs read the row before either finishes
    message = _put()
    barrier, results, errors = threading.Barrier(4), [], []

    def run(i: int) -> None:
        try:
            barrier.wait()
            if i % 2:
                results.append(outbox_deliver(message_id=message.pk))
            else:
                results.append(outbox_sweep(now=_later(20)))
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert sum(int(r) for r in results) == 1
    assert handler.runs == [{"n": 1}]
    message.refresh_from_db()
    assert message.attempts == 1 and message.state == "done"


@pytest.mark.django_db(transaction=True)
def test_the_sweep_delivers_work_whose_celery_message_redis_lost(handler, redis_conn):
    from ticketing.celery import app

    queue = app.conf.task_default_queue
    message = _put()
    # The commit enqueued the fast path: a real message in the real broker...
    assert redis_conn.llen(queue) == 1
    redis_conn.flushdb()  # ...lost before any worker took it
    assert redis_conn.llen(queue) == 0
    assert handler.runs == []

    assert outbox_sweep(now=_later(11)) == 1
    assert handler.runs == [{"n": 1}]
    message.refresh_from_db()
    assert message.state == "done"


@pytest.mark.django_db(transaction=True)
def test_a_broker_that_refuses_the_enqueue_does_not_fail_the_commit(handler, monkeypatch, caplog):
    from ticketing.celery import app

    def broker_down(*args, **kwargs):
        raise ConnectionRefusedError("redis is down")

    monkeypatch.setattr(app, "send_task", broker_down)
    with caplog.at_level(logging.WARNING, logger="ticketing.outbox"):
        message = _put()
    assert "not enqueued" in caplog.text
    assert outbox_sweep(now=_later(11)) == 1
    message.refresh_from_db()
    assert message.state == "done"


@pytest.mark.django_db
def test_purge_forgets_old_done_messages_and_keeps_the_rest(handler, settings):
    settings.OUTBOX_KEEP_DAYS = 7
    old, recent, pending, given_up = (_put() for _ in range(4))
    OutboxMessage.objects.filter(pk=old.pk).update(done_at=_later(-8 * 86400), due_at=None)
    OutboxMessage.objects.filter(pk=recent.pk).update(done_at=_later(-86400), due_at=None)
    OutboxMessage.objects.filter(pk=given_up.pk).update(due_at=None, created_at=_later(-30 * 86400))
    assert outbox_purge() == 1
    assert set(OutboxMessage.objects.values_list("pk", flat=True)) == {
        recent.pk,
        pending.pk,
        given_up.pk,
    }


def test_the_sweep_runs_often_on_the_main_queue(settings):
    # Its handlers do HTTP and SMTP: never on the ticks queue behind the 1 s tick.
    from ticketing import tasks
    from ticketing.celery import app

    entry = settings.CELERY_BEAT_SCHEDULE["ticketing.outbox_sweep"]
    assert entry["task"] == tasks.outbox_sweep.name
    assert entry["schedule"] == settings.OUTBOX_SWEEP_SECONDS
    assert 0 < entry["options"]["expires"] <= 2 * entry["schedule"]
    router = app.amqp.Router()
    for name in (entry["task"], tasks.outbox_deliver.name):
        assert router.route({}, name)["queue"].name == app.conf.task_default_queue
    assert (
        settings.CELERY_BEAT_SCHEDULE["ticketing.outbox_purge"]["task"] == tasks.outbox_purge.name
    )


@pytest.mark.django_db
def test_staff_see_the_outbox_read_only_with_kind_and_state_filters(admin_client, handler):
    message = _put()
    OutboxMessage.objects.filter(pk=message.pk).update(due_at=None, last_error="boom")
    listing = admin_client.get("/admin/ticketing/outboxmessage/?state=given_up")
    assert listing.status_code == 200
    assert b"test.work" in listing.content
    assert (
        admin_client.get("/admin/ticketing/outboxmessage/?state=done").context["cl"].result_count
        == 0
    )
    assert admin_client.get("/admin/ticketing/outboxmessage/add/").status_code == 403
    page = admin_client.get(f"/admin/ticketing/outboxmessage/{message.pk}/change/")
    assert page.status_code == 200 and b"boom" in page.content


@pytest.mark.django_db(transaction=True)
def test_a_sweep_with_a_pool_runs_its_messages_side_by_side(monkeypatch):
    # outbox_work's deliverer (no Celery): four callbacks each waiting on the
    # merchant's answer run at once, not one after another. The barrier lets
    # the handlers through only when all four are inside together.
    from concurrent.futures import ThreadPoolExecutor

    barrier = threading.Barrier(4, timeout=10)
    monkeypatch.setitem(outbox._HANDLERS, "test.work", lambda payload: barrier.wait())
    messages = [_put() for _ in range(4)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        assert outbox_sweep(now=_later(60), pool=pool) == 4
    assert all(OutboxMessage.objects.get(pk=m.pk).state == "done" for m in messages)


@pytest.mark.django_db(transaction=True)
def test_outbox_work_delivers_only_its_kinds_until_stopped(tmp_path):
    """The deliverer of a process with no Celery, as the sandbox acquirer runs."""
    import os
    import signal
    import subprocess
    import sys

    from conftest import ROOT, _test_database_url

    with transaction.atomic():
        ours = outbox_put(
            kind="sandbox.callback", payload={"url": "http://127.0.0.1:9/", "body": {}}
        )
        theirs = outbox_put(kind="payments.refund", payload={"payment_id": "x"})
    OutboxMessage.objects.update(due_at=timezone.now())
    env = {
        **os.environ,
        "DATABASE_URL": _test_database_url(),
        "DJANGO_SETTINGS_MODULE": "sandbox.settings",
    }
    worker = subprocess.Popen(
        [sys.executable, "manage.py", "outbox_work", "--kind", "sandbox.callback"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while OutboxMessage.objects.get(pk=ours.pk).attempts == 0:
            assert time.monotonic() < deadline, "the deliverer never tried its message"
            time.sleep(0.2)
    finally:
        worker.send_signal(signal.SIGTERM)
        output = worker.communicate(timeout=30)[0].decode()
    assert worker.returncode == 0, output
    ours.refresh_from_db()
    theirs.refresh_from_db()
    assert "Connection refused" in ours.last_error or "URLError" in ours.last_error
    assert theirs.attempts == 0  # kassa's kind: not this process's to run


@pytest.mark.django_db
def test_a_run_killed_mid_handler_is_run_again_once_its_lease_ends(handler, settings):
    # A worker killed (kill -9, OOM) while a refund's handler runs leaves the
    # message claimed and not done. The sweep runs it again after the lease,
    # and the default lease is short enough for a refund to go out within a
    # minute, yet longer than the handlers' own timeouts (no double run; the
    # sandbox's callback POST is checked beside it, sandbox/tests).
    assert settings.OUTBOX_LEASE_SECONDS <= 60
    assert settings.OUTBOX_LEASE_SECONDS > max(
        settings.WEBHOOK_TIMEOUT_SECONDS, settings.EMAIL_TIMEOUT
    )
    message = _put()
    claimed = _later(0)
    OutboxMessage.objects.filter(pk=message.pk).update(
        due_at=claimed + timedelta(seconds=settings.OUTBOX_LEASE_SECONDS), attempts=1
    )  # what _claim_and_run wrote before the worker died
    assert outbox_sweep(now=_later(settings.OUTBOX_LEASE_SECONDS - 5)) == 0
    assert handler.runs == []
    assert outbox_sweep(now=_later(settings.OUTBOX_LEASE_SECONDS + 1)) == 1
    assert handler.runs == [{"n": 1}]
    assert OutboxMessage.objects.get(pk=message.pk).done_at is not None
