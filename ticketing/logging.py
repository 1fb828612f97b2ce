"""JSON log lines carrying the id of the request (or task) they belong to."""

from __future__ import annotations

import contextvars
import json
import logging
import time

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "request_id", default=None
)
# The client's address by ticketing.middleware.client_ip (the throttles' rule).
client_ip_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "client_ip", default=None
)

_STANDARD = set(logging.makeLogRecord({}).__dict__) | {
    "message", "asctime", "request_id", "client_ip",
}  # fmt: skip


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        record.client_ip = client_ip_var.get()
        return True


class RoutineTaskFilter(logging.Filter):
    """Drops Celery's own below-WARNING lines about the routine tasks given
    (beat "Sending due task", worker "received" / "succeeded"): the admission
    tick runs every second and would otherwise write three lines a second.
    Their warnings and errors, and the tasks' own log lines, still pass."""

    def __init__(self, tasks=()) -> None:
        super().__init__()
        self.tasks = tuple(tasks)

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.WARNING or not record.name.startswith("celery"):
            return True
        message = record.getMessage()
        return not any(task in message for task in self.tasks)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        if client := getattr(record, "client_ip", None):  # requests only, not tasks
            entry["client_ip"] = client
        # Anything passed with `extra=` lands in the line as its own key.
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)
