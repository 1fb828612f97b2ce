"""Orders' in-transaction announcements become webhook events (orders.hooks:
sent inside the transaction that changes the order, so the delivery rows and
their outbox messages commit with the change)."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from api.models import Partner
from events.hooks import EVENT_CANCELLED, EVENT_CHANGED, event_recorded
from events.models import Event, Production
from orders.hooks import order_recorded
from orders.models import Order
from partners.models import WebhookEndpoint, WebhookEventType
from partners.services import webhook_event_record
from queueing.admissions import Admission, admissions_listen

STATE_EVENTS = {
    "paid": "order.paid",
    "refunded": "order.refunded",
    "expired": "order.expired",
    "partially_refunded": "order.partially_refunded",
}
EVENT_KINDS = {EVENT_CHANGED: "event.changed", EVENT_CANCELLED: "event.cancelled"}


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
def order_webhooks(
    sender: Any,
    *,
    state: str,
    orders: list[tuple[int, int | None]],
    details: dict[str, Any] | None = None,
    **kw,
) -> None:
    event_type = STATE_EVENTS.get(state)
    partner_orders = [pk for pk, partner_id in orders if partner_id is not None]
    if event_type is None or not partner_orders:
        return  # the web's own orders: no query
    for order in Order.objects.filter(pk__in=partner_orders).order_by("pk"):
        webhook_event_record(
            partner_id=order.partner_id,
            event_type=event_type,
            data={**order_data(order), **(details or {})},
        )


def event_data(event: Event) -> dict[str, Any]:
    return {
        "event": {
            "id": event.pk,
            "slug": event.slug,
            "title": event.title,
            "status": event.status,
            "starts_at": event.starts_at.isoformat(),
            "doors_at": event.doors_at.isoformat() if event.doors_at else None,
            "time_zone": event.time_zone,
            "venue": event.venue_id,
        }
    }


@receiver(event_recorded, dispatch_uid="partners.event_webhooks")
def event_webhooks(sender: Any, *, kind: str, event: Event, details: dict[str, Any], **kw) -> None:
    """Every partner with an endpoint that wants it hears of the change (a
    partner sells from the whole catalogue, so not only those with orders)."""
    event_type = EVENT_KINDS.get(kind)
    if event_type is None:
        return
    data = {**event_data(event), **details}
    types = [event_type]
    if event_type == WebhookEventType.EVENT_CANCELLED and _is_showing(event):
        # A partner that asks for showing.cancelled hears it by that name;
        # one that asks only for event.cancelled still hears event.cancelled.
        types = [WebhookEventType.SHOWING_CANCELLED, event_type]
    told: set[int] = set()
    for name in types:
        partner_ids = (
            WebhookEndpoint.objects.filter(is_active=True, events__contains=[name])
            .exclude(partner_id__in=told)
            .values_list("partner_id", flat=True)
            .distinct()
            .order_by("partner_id")
        )
        for partner_id in partner_ids:
            webhook_event_record(partner_id=partner_id, event_type=name, data=data)
            told.add(partner_id)


def _is_showing(event: Event) -> bool:
    """A film's showing (the cinema's events are of a film Production)."""
    return bool(
        event.production_id
        and Production.objects.filter(pk=event.production_id, kind=Production.Kind.FILM).exists()
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
