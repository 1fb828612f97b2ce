"""`manage.py outbox_work --kind K [--interval S]`: deliver outbox messages of
the given kinds in a loop, without Celery, until SIGTERM or SIGINT.

The deliverer of a process that has no Celery worker: the sandbox acquirer
run as a process of its own delivers its callbacks with it.
"""

from __future__ import annotations

import logging
import signal
import threading
from concurrent.futures import ThreadPoolExecutor

from django.core.management.base import BaseCommand, CommandError
from django.db import connections

from ticketing.outbox import outbox_handlers, outbox_sweep

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Deliver the due outbox messages of the given kinds in a loop (no Celery)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--kind", action="append", required=True, dest="kinds")
        parser.add_argument("--interval", type=float, default=0.25)
        parser.add_argument(
            "--threads", type=int, default=16, help="messages run side by side (HTTP waits)"
        )

    def handle(self, *args, kinds: list[str], interval: float, threads: int, **options) -> None:
        unknown = sorted(set(kinds) - set(outbox_handlers()))
        if unknown:
            raise CommandError(f"no handler in this process for {', '.join(unknown)}")
        stop = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
        self.stdout.write(f"outbox_work: delivering {', '.join(kinds)}, {threads} at a time")
        pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="outbox")
        while not stop.is_set():
            try:
                delivered = outbox_sweep(kinds=kinds, pool=pool, batch=threads * 4)
            except Exception:  # the database restarting: log, wait, go on
                logger.exception("outbox_work: the sweep failed; trying again")
                connections.close_all()
                delivered = 0
            if not delivered:
                stop.wait(interval)
        pool.shutdown(wait=True)
