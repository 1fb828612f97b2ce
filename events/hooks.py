"""What events tells the apps above it *inside* the transaction that changes
an event (partners turn it into `event.changed` / `event.cancelled` webhooks).

Like orders.hooks: the receivers write rows (a webhook delivery and its
outbox message) that commit or roll back with the change, so a partner hears
of every committed change and of nothing that was rolled back. Receivers must
do no outside I/O.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.dispatch import Signal

# Sent with `kind` ("changed" or "cancelled"), `event` (the Event as saved)
# and `details` (a JSON-able dict: for "changed" the changed fields as
# {"field": {"old": ..., "new": ...}}; for "cancelled" {"reason": ...}).
event_recorded = Signal()

EVENT_CHANGED = "changed"
EVENT_CANCELLED = "cancelled"


def event_record(*, kind: str, event: Any, details: dict[str, Any]) -> None:
    """Tell the in-transaction receivers that `event` just changed or was cancelled."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("event_record must run inside the transaction that changes the event")
    event_recorded.send(sender=None, kind=kind, event=event, details=details)
