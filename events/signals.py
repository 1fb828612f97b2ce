"""Keep the per-process sale snapshot (events.selectors.sale_snapshot) honest:
any save or delete of the rows it holds drops it in this process at once;
other processes see the change within SALE_SNAPSHOT_SECONDS.

`event_duplicated` tells the layers above events (which events may not
import) that an event was copied to another date, inside the copying
transaction, so they copy their own parts of it (queueing: the waiting room).
"""

from __future__ import annotations

from django.db.models.signals import post_delete, post_save
from django.dispatch import Signal

from events.models import (
    Event,
    PriceTier,
    SalePhase,
    Section,
    StandingArea,
    TicketType,
    TicketTypePrice,
)
from events.selectors import sale_snapshot_forget

# Sent by events.services.event_duplicate inside its transaction, with
# source=<Event>, copy=<Event>, offset=<timedelta>, actor=<user or None>.
# A receiver that raises rolls the whole copy back.
event_duplicated = Signal()


def _forget(sender, **kwargs) -> None:
    sale_snapshot_forget()


def connect() -> None:
    for model in (Event, SalePhase, PriceTier, Section, StandingArea, TicketType, TicketTypePrice):
        uid = f"sale_snapshot_{model.__name__}"
        post_save.connect(_forget, sender=model, dispatch_uid=uid)
        post_delete.connect(_forget, sender=model, dispatch_uid=uid)
