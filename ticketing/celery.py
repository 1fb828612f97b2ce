"""The Celery app. Tasks carry the request id of the request that queued them."""

from __future__ import annotations

import os

from celery import Celery, signals

from ticketing.logging import request_id_var

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ticketing.settings")

app = Celery("ticketing")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def ticks_queue(default_queue: str) -> str:
    """The queue of the periodic, short tasks (its own worker, see the launcher)."""
    return f"{default_queue}-ticks"


def route_ticks(name, args, kwargs, options, task=None, **kw):
    """CELERY_TASK_ROUTES: settings.CELERY_TICKS_TASKS go to the ticks queue of
    the current default queue (tests switch the default queue per worker)."""
    from django.conf import settings

    if name in settings.CELERY_TICKS_TASKS:
        return {"queue": ticks_queue(app.conf.task_default_queue)}
    return None


@signals.before_task_publish.connect
def _attach_request_id(headers=None, **kwargs):
    request_id = request_id_var.get()
    if headers is not None and request_id and "request_id" not in headers:
        headers["request_id"] = request_id


@signals.task_prerun.connect
def _adopt_request_id(task=None, **kwargs):
    request_id = getattr(task.request, "request_id", None) if task else None
    task.request._request_id_token = request_id_var.set(request_id)


@signals.task_postrun.connect
def _drop_request_id(task=None, **kwargs):
    token = getattr(task.request, "_request_id_token", None) if task else None
    if token is not None:
        request_id_var.reset(token)


@signals.setup_logging.connect
def _use_django_logging(**kwargs):
    # Keep Django's JSON LOGGING config in workers instead of Celery's own.
    from logging.config import dictConfig

    from django.conf import settings

    dictConfig(settings.LOGGING)
