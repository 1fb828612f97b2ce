"""Keep the per-process sale snapshot (events.selectors.sale_snapshot) honest:
any save or delete of the rows it holds drops it in this process at once;
other processes see the change within SALE_SNAPSHOT_SECONDS."""

from __future__ import annotations

from django.db.models.signals import post_delete, post_save

from events.models import Event, PriceTier, SalePhase, Section, StandingArea
from events.selectors import sale_snapshot_forget


def _forget(sender, **kwargs) -> None:
    sale_snapshot_forget()


def connect() -> None:
    for model in (Event, SalePhase, PriceTier, Section, StandingArea):
        uid = f"sale_snapshot_{model.__name__}"
        post_save.connect(_forget, sender=model, dispatch_uid=uid)
        post_delete.connect(_forget, sender=model, dispatch_uid=uid)
