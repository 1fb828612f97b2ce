"""The outbox handler that POSTs webhook deliveries (registered at startup by
PartnersConfig.ready, so every process running the outbox sweep knows it)."""

from __future__ import annotations

from typing import Any

from partners.services import DELIVER_KIND, webhook_deliver
from ticketing.outbox import outbox_handler


@outbox_handler(DELIVER_KIND)
def deliver(payload: dict[str, Any]) -> None:
    webhook_deliver(delivery_id=payload["delivery_id"])
