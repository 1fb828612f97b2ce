"""gunicorn settings used by `make run` and the benchmarks."""

from __future__ import annotations

import os

workers = int(os.environ.get("WEB_CONCURRENCY", "3"))
# WEB_THREADS > 1: gthread workers, so a buyer's wait for the payment callback
# (GET orders/{id}/?wait=N, orders/waits.py) blocks a thread, not the process.
# 1 (the default): sync workers, and the wait is answered at once.
threads = int(os.environ.get("WEB_THREADS", "1"))
worker_class = "gthread" if threads > 1 else "sync"
timeout = 30
graceful_timeout = 10
keepalive = 5
accesslog = None  # the JSON app log carries what matters; access logs cost CPU under load
errorlog = "-"


def child_exit(server, worker):
    """A dead worker's live gauges must stop counting (prometheus multiprocess mode)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
