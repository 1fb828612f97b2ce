"""Celery tasks of payments: callback delivery, refunds, confirmation mail.

Tasks take ids / plain data and call one service or helper.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request

from celery import shared_task
from django.conf import settings

logger = logging.getLogger(__name__)
# Bounded, yet above a busy site's p99 (~10 s in the on-sale bench): an
# abandoned attempt goes to the back of the retry backoff.
CALLBACK_TIMEOUT_SECONDS = 15


class CallbackNotAccepted(Exception):
    """The merchant answered non-2xx (or not at all): retry with backoff."""


@shared_task(
    name="orders.deliver_sandbox_callback",
    autoretry_for=(CallbackNotAccepted, OSError),
    retry_backoff=2,
    retry_backoff_max=60,
    retry_jitter=True,
    max_retries=12,
    acks_late=True,
)
def deliver_sandbox_callback(body: dict) -> int:
    """POST the signed callback to the merchant (this site) until it answers 2xx."""
    from orders.payments.sandbox import CALLBACK_PATH, SIGNATURE_HEADER, sign

    raw = json.dumps(body, separators=(",", ":")).encode()
    request = urllib.request.Request(  # noqa: S310 (our own SITE_URL, http/https)
        settings.SITE_URL + CALLBACK_PATH,
        data=raw,
        method="POST",
        headers={"Content-Type": "application/json", SIGNATURE_HEADER: sign(raw)},
    )
    try:
        with urllib.request.urlopen(request, timeout=CALLBACK_TIMEOUT_SECONDS) as response:  # noqa: S310
            return response.status
    except urllib.error.HTTPError as exc:
        logger.warning("sandbox callback answered %s", exc.code)
        raise CallbackNotAccepted(str(exc.code)) from exc


@shared_task(
    name="orders.payment_refund_issue",
    autoretry_for=(OSError,),
    retry_backoff=2,
    max_retries=10,
)
def payment_refund_issue(payment_id: str) -> None:
    from orders.payments.services import payment_refund_issue as issue

    issue(payment_id=payment_id)


@shared_task(
    name="orders.order_confirmation_send",
    autoretry_for=(OSError,),
    retry_backoff=5,
    max_retries=8,
)
def order_confirmation_send(order_id: int) -> None:
    from orders.payments.mail import order_confirmation_send as send

    send(order_id=order_id)


@shared_task(name="orders.payments_reconcile", ignore_result=True)
def payments_reconcile() -> int:
    """Settle payments whose callback never came (beat, every PAYMENT_RECONCILE_SECONDS)."""
    from orders.payments.services import payments_reconcile as reconcile

    return reconcile()
