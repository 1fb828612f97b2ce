"""Ticket types at checkout: who each seat's ticket is for (adult, child,
student, pensioner) and what it then costs.

A showing sells ticket types (events.TicketType); the buyer picks one per seat
of the hold at checkout. The price is the type's price for the seat's tier
(TicketTypePrice), else the tier's own price; a TicketTypePrice without a
price means the type is not sold in that tier. The choice is stored on the
order (`Order.seat_types`), its sum is the order's total (and so the
payment's amount), and the tickets issued on payment carry the type and its
price. Events without ticket types (the stadium) never get here.

Everything is read from the sale snapshot (events.selectors), so pricing costs
no query beyond the hold's seat tiers.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _

from events.models import TicketType
from events.selectors import SaleSnapshot
from orders.exceptions import ValidationFailed

FIELD = "ticket_types"


def _fail(message: str) -> ValidationFailed:
    return ValidationFailed(details={FIELD: [message]})


def choices_clean(value: Any) -> dict[int, str]:
    """The request's {seat id: type key} (JSON keys are strings) as ints → keys.

    Shape errors only; whether the seats and types exist is seat_types_price's.
    """
    if value in (None, ""):
        return {}
    if not isinstance(value, dict):
        raise _fail(_("Give the ticket types as an object of seat id to ticket type."))
    chosen: dict[int, str] = {}
    for seat, key in value.items():
        text = str(seat).strip()
        if isinstance(seat, bool) or not (text.isascii() and text.isdigit()):
            raise _fail(_("Seat ids must be positive integers."))
        if not isinstance(key, str) or not key.strip():
            raise _fail(_("Choose a ticket type for every seat."))
        chosen[int(text)] = key.strip()
    return chosen


def type_default(sale: SaleSnapshot, tier_id: int) -> TicketType | None:
    """The first type (in the event's order, adult first) sold for this tier."""
    for ticket_type in sale.ticket_types:
        if sale.ticket_type_price(ticket_type, tier_id) is not None:
            return ticket_type
    return None


def seat_types_price(
    *, sale: SaleSnapshot, seat_tiers: dict[int, int], chosen: dict[int, str]
) -> tuple[dict[str, dict[str, Any]], Decimal]:
    """Price the hold's seats (`seat_tiers`: EventSeat id → tier id) by the
    chosen types (`chosen`: EventSeat id → type key; a seat left out gets the
    first type sold for its tier). Returns (Order.seat_types, total).

    Raises ValidationFailed (details under `ticket_types`) for a seat that is
    not the hold's, an unknown type, or a type not sold for the seat's tier.
    """
    if not sale.ticket_types:
        if chosen:
            raise _fail(_("This event does not sell ticket types."))
        return {}, Decimal("0")
    foreign = sorted(set(chosen) - set(seat_tiers))
    if foreign:
        raise _fail(_("Not seats of this reservation: %(ids)s") % {"ids": foreign})
    by_key = {t.key: t for t in sale.ticket_types}
    unknown = sorted({key for key in chosen.values() if key not in by_key})
    if unknown:
        raise _fail(_("Unknown ticket type: %(keys)s") % {"keys": ", ".join(unknown)})
    seat_types: dict[str, dict[str, Any]] = {}
    total = Decimal("0")
    for seat_id, tier_id in sorted(seat_tiers.items()):
        ticket_type = by_key[chosen[seat_id]] if seat_id in chosen else type_default(sale, tier_id)
        price = None if ticket_type is None else sale.ticket_type_price(ticket_type, tier_id)
        if price is None:
            tier = sale.tiers.get(tier_id)
            raise _fail(
                _("A “%(type)s” ticket is not sold for %(tier)s seats.")
                % {
                    "type": ticket_type.localized_name if ticket_type else "-",
                    "tier": tier.localized_name if tier else "-",
                }
            )
        seat_types[str(seat_id)] = {"type": ticket_type.pk, "price": f"{price:.2f}"}
        total += price
    return seat_types, total


def seat_options(sale: SaleSnapshot, tier_id: int) -> list[dict[str, Any]]:
    """The types a seat of this tier may be sold as, with their prices (checkout)."""
    options = []
    for ticket_type in sale.ticket_types:
        price = sale.ticket_type_price(ticket_type, tier_id)
        if price is not None:
            options.append({"type": ticket_type, "price": price})
    return options


def items_typed(
    items: list[dict], *, sale: SaleSnapshot | None, seat_types: dict[str, dict[str, Any]]
) -> list[dict]:
    """The hold's items (hold_items) with each seat's chosen type and its price."""
    if not seat_types or sale is None:
        return items
    by_id = {t.pk: t for t in sale.ticket_types}
    typed = []
    for item in items:
        chosen = seat_types.get(str(item.get("seat")))
        if chosen:
            ticket_type = by_id.get(chosen["type"])
            item = {**item, "price": chosen["price"], "ticket_type": ticket_type}
        typed.append(item)
    return typed
