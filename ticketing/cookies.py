"""Names of the browser cookies more than one app reads or writes.

Here, in the bottom layer, so that events (the event page: does the visitor
already hold a pass?), queueing (the waiting page sets it) and orders (the hold
form sends it, a refused hold drops it) spell it the same way without events
importing queueing, which sits above it.
"""

from __future__ import annotations


def pass_cookie(event_id: int) -> str:
    """The one name of the browser cookie that carries an event's queue pass:
    the queue page sets it, the hold form sends it, a refused hold drops it,
    the event page reads it."""
    return f"kassa_pass_{event_id}"
