"""Celery tasks of payments.

Refunds, callback deliveries and the ticket mail are outbox messages (kinds in
payments.messages, handlers in payments.outbox), run by
ticketing's outbox tasks: a Celery message alone was lost with Redis.
"""

from __future__ import annotations

from celery import shared_task

from payments.services import payments_reconcile as reconcile


@shared_task(name="orders.payments_reconcile", ignore_result=True)
def payments_reconcile() -> int:
    """Settle payments whose callback never came (beat, every PAYMENT_RECONCILE_SECONDS)."""
    return reconcile()
