"""Orders' in-transaction announcements become webhook events (orders.hooks:
sent inside the transaction that changes the order, so the delivery rows and
their outbox messages commit with the change)."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from api.models import Partner
from orders.hooks import order_recorded
from orders.models import Order
from partners.services import webhook_event_record
from queueing.admissions import Admission, admissions_listen

STATE_EVENTS = {"paid": "order.paid", "refunded": "order.refunded", "expired": "order.expired"}


def order_data(order: Order) -> dict[str, Any]:
    return {
        "order": {
            "id": order.pk,
            "code": order.code,
            "event": order.event_id,
            "status": order.status,
            "buyer_ref": order.buyer_ref,
            "quantity": order.quantity,
            "total": str(order.total),
            "currency": order.currency,
            "paid_at": order.paid_at.isoformat() if order.paid_at else None,
        }
    }


@receiver(order_recorded, dispatch_uid="partners.order_webhooks")
def order_webhooks(sender: Any, *, state: str, orders: list[tuple[int, int | None]], **kw) -> None:
    event_type = STATE_EVENTS.get(state)
    partner_orders = [pk for pk, partner_id in orders if partner_id is not None]
    if event_type is None or not partner_orders:
        return  # the web's own orders: no query
    for order in Order.objects.filter(pk__in=partner_orders).order_by("pk"):
        webhook_event_record(
            partner_id=order.partner_id, event_type=event_type, data=order_data(order)
        )


@admissions_listen
def queue_admitted(admissions: list[Admission]) -> None:
    """The waiting room admitted these partner customers (inside the tick's
    transaction): `queue.admitted`, so the partner can push "your turn" to
    the buyer's phone; the pass is to be claimed by `claim_by` as usual."""
    slugs = {a.visitor.split(":", 2)[1] for a in admissions}
    partners = dict(Partner.objects.filter(slug__in=slugs).values_list("slug", "pk"))
    for admission in admissions:
        _prefix, slug, buyer_ref = admission.visitor.split(":", 2)
        if slug not in partners:
            continue
        webhook_event_record(
            partner_id=partners[slug],
            event_type="queue.admitted",
            data={
                "queue": {
                    "event": admission.event_slug,
                    "event_id": admission.event_id,
                    "buyer_ref": buyer_ref,
                    "number": admission.number,
                    "claim_by": admission.claim_by.isoformat(),
                }
            },
        )
