"""The buyer's one wait for a payment to settle (GET orders/{id}/?wait=N).

The return page used to poll the order every 1-3 s until the gateway's
callback landed: ~7 reads a buyer, the largest CPU share after the sale.
Instead the read may block until the settling code says the order's payment
was decided, or until the cap, whichever comes first.

The signal is a short Redis list per order: the settling transaction pushes
one element after its commit (`order_settled_notify`), and a waiter blocks on
it with BLMOVE from the list to itself. That does not consume the element, so
every waiter of the order is woken (two tabs, a partner and its buyer) and a
waiter that starts after the push returns at once: there is no window
between the waiter's read of the order and its wait in which a settlement is
missed. The list expires on its own.

A blocked request ties a server thread, never a process: waits are granted
only in a multi-threaded server (gunicorn gthread, WEB_THREADS > 1) and only
ORDER_WAIT_SLOTS at a time per process, so threads are left to compute. A
sync worker, a full set of slots or a Redis failure answer at once, as a
plain read does; the caller polls again.
"""

from __future__ import annotations

import logging
import threading

import redis
from django.conf import settings

logger = logging.getLogger(__name__)

KEY = "kassa:order-settled:{order_id}"
KEY_SECONDS = 120  # longer than any wait, shorter than a buyer's memory of it

_slots_lock = threading.Lock()
_slots_taken = 0
_client: redis.Redis | None = None


def _redis() -> redis.Redis:
    """A client whose socket outlasts the longest wait (the cache's own times out in 2 s)."""
    global _client
    if _client is None:
        _client = redis.Redis.from_url(
            settings.REDIS_URL,
            socket_connect_timeout=2,
            socket_timeout=settings.ORDER_WAIT_MAX_SECONDS + 5,
        )
    return _client


def order_settled_notify(*, order_id: int) -> None:
    """Wake the waiters of this order. Call after the settling commit (on_commit):
    a woken waiter re-reads the order and must find it settled."""
    key = KEY.format(order_id=order_id)
    try:
        pipe = _redis().pipeline(transaction=False)
        pipe.rpush(key, "1")
        pipe.expire(key, KEY_SECONDS)
        pipe.execute()
    except redis.RedisError:
        # Waiters then answer at their cap and the buyer reads again: slower, not wrong.
        logger.warning("order %s settled, waiters not woken (Redis)", order_id, exc_info=True)


def _slot_take() -> bool:
    global _slots_taken
    with _slots_lock:
        if _slots_taken >= settings.ORDER_WAIT_SLOTS:
            return False
        _slots_taken += 1
        return True


def _slot_give() -> None:
    global _slots_taken
    with _slots_lock:
        _slots_taken -= 1


def order_settled_wait(*, order_id: int, seconds: float, multithreaded: bool) -> bool:
    """Block up to `seconds` (capped at ORDER_WAIT_MAX_SECONDS) until the order's
    payment is settled; True if woken, False at the cap or when no wait was
    granted (sync server, no free slot, Redis down). The caller re-reads the order.
    Call with no transaction open: nothing may stay locked while a thread waits."""
    seconds = min(seconds, settings.ORDER_WAIT_MAX_SECONDS)
    if seconds <= 0 or not multithreaded or not _slot_take():
        return False
    key = KEY.format(order_id=order_id)
    try:
        return _redis().blmove(key, key, seconds, "RIGHT", "LEFT") is not None
    except redis.RedisError:
        logger.warning("order %s: wait failed (Redis)", order_id, exc_info=True)
        return False
    finally:
        _slot_give()
