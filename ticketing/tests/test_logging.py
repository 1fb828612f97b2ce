"""The JSON log handler as configured in settings.LOGGING."""

from __future__ import annotations

import logging

import pytest


def _record(logger: str, level: int, message: str) -> logging.LogRecord:
    return logging.LogRecord(logger, level, __file__, 1, message, None, None)


@pytest.fixture
def handler() -> logging.Handler:
    from ticketing.logging import JsonFormatter

    (stdout,) = [h for h in logging.getLogger().handlers if isinstance(h.formatter, JsonFormatter)]
    return stdout


@pytest.mark.parametrize(
    "message",
    [
        "Scheduler: Sending due task queue-admission-tick (queueing.tasks.admission_tick)",
        "Task queueing.tasks.admission_tick[0e75] received",
        "Task orders.tasks.sweep_expired_holds[f36b] succeeded in 0.01s: 0",
    ],
)
def test_celery_chatter_about_the_every_second_tasks_is_dropped(handler, message):
    assert not handler.filter(_record("celery.app.trace", logging.INFO, message))


def test_what_matters_still_passes(handler):
    tick = "Task queueing.tasks.admission_tick[0e75]"
    # Trouble with a routine task, other tasks' lines, and the tasks' own logs.
    assert handler.filter(_record("celery.app.trace", logging.ERROR, tick + " raised: boom"))
    assert handler.filter(_record("celery.worker.strategy", logging.WARNING, tick + " late"))
    assert handler.filter(
        _record("celery.app.trace", logging.INFO, "Task orders.deliver_sandbox_callback[1] ok")
    )
    assert handler.filter(_record("queueing.services", logging.INFO, "queue room state built"))
