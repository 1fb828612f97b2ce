"""Chosen seats: the buyer names EventSeat ids on the map. Also the stored
behaviour of every seated hold (best available inherits it): the hold's seats
are its `seat_ids`, owned while EventSeat.hold_id is the hold's."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.http import QueryDict
from django.utils.translation import gettext as _
from rest_framework import serializers

from events import stock
from events.models import EventSeat
from events.selectors import SaleSnapshot
from orders.exceptions import SeatUnavailable, ValidationFailed
from orders.holdkinds.base import HoldKind, Take, Taken
from orders.holdkinds.pairs import pairs_check

if TYPE_CHECKING:
    from orders.models import Hold, Order, Ticket

# Map order: section, row, number.
_MAP_ORDER = ("seat__section_id", "seat__row_index", "seat__number")


class Seated(HoldKind):
    """What a stored seated hold does; the kinds differ only in how they pick."""

    @classmethod
    def return_stock(cls, hold: Hold) -> None:
        stock.seats_return(hold_id=hold.pk, seat_ids=list(hold.seat_ids))

    @classmethod
    def extend(cls, hold: Hold, until: datetime) -> None:
        stock.seats_extend(hold_id=hold.pk, seat_ids=list(hold.seat_ids), until=until)

    @classmethod
    def sell(cls, order: Order, hold: Hold) -> bool:
        return cls.sell_places(order, hold) is not None

    @classmethod
    def sell_places(cls, order: Order, hold: Hold) -> list[dict[str, Any]] | None:
        # The sale and what the tickets need in one round trip (no ticket_places read).
        sold = stock.seats_sell(hold_id=hold.pk, seat_ids=list(hold.seat_ids), order_id=order.pk)
        if sold is None:
            return None
        return [
            {"event_seat_id": seat_id, "tier_id": tier_id, "price": price}
            for seat_id, tier_id, price in sold
        ]

    @classmethod
    def unsell(cls, order: Order, tickets: list[Ticket]) -> None:
        seat_ids = [t.event_seat_id for t in tickets if t.event_seat_id is not None]
        stock.seats_unsell(order_id=order.pk, seat_ids=seat_ids)

    @classmethod
    def ticket_places(cls, hold: Hold) -> list[dict[str, Any]]:
        seats = EventSeat.objects.filter(pk__in=hold.seat_ids).select_related("tier", "seat")
        return [
            {"event_seat": seat, "tier_id": seat.tier_id, "price": seat.tier.price}
            for seat in seats.order_by(*_MAP_ORDER)
        ]

    @classmethod
    def items(cls, hold: Hold) -> list[dict]:
        seats = (
            EventSeat.objects.filter(id__in=hold.seat_ids)
            .select_related("seat", "section", "tier")
            .order_by(*_MAP_ORDER)
        )
        return [
            {
                "seat": es.pk,
                "section": es.section.localized_name,
                "row": es.seat.row_label,
                "number": es.seat.number,
                "tier": es.tier.localized_name,
                "price": str(es.tier.price),
            }
            for es in seats
        ]

    @classmethod
    def describe(cls, ticket: Ticket) -> dict[str, str | None]:
        seat = ticket.event_seat
        return {
            "section": seat.section.localized_name,
            "row": seat.seat.row_label,
            "seat": str(seat.seat.number),
            "tier": ticket.tier.localized_name,
        }


def taken_seats(rows: list[tuple]) -> Taken:
    """A seated Taken from the rows stock.seats_lock/seats_take returned."""
    return Taken(
        seat_ids=sorted(row[0] for row in rows),
        total=sum((row[1] for row in rows), Decimal("0")),
        items=_seat_items(rows),
    )


def _seat_items(rows: list[tuple]) -> list[dict]:
    """The hold's seats for the response, in map order (section, row, number)."""
    rows = sorted(rows, key=lambda row: (row[3], row[5], row[7]))
    return [
        {
            "seat": seat_id,
            "section": section_name,
            "row": row_label,
            "number": number,
            "tier": tier_name,
            "price": str(price),
        }
        for seat_id, price, _free, _sec, section_name, _ri, row_label, number, tier_name in rows
    ]


@dataclass(frozen=True)
class Seats(Seated):
    """The seats the buyer chose, all of them or none."""

    field = "seats"
    name = "seats"
    seat_ids: tuple[int, ...]

    @property
    def quantity(self) -> int:  # type: ignore[override]
        return len(self.seat_ids)

    @classmethod
    def api_field(cls) -> serializers.Field:
        return serializers.ListField(child=serializers.IntegerField(), required=False)

    @classmethod
    def form_value(cls, post: QueryDict) -> list[int] | None:
        raw = post.getlist("seats")
        if not raw:
            return None
        if not all(s.strip().isascii() and s.strip().isdigit() for s in raw):
            raise ValidationFailed(details={"seats": [_("Choose seats on the map.")]})
        return [int(s) for s in raw]

    @classmethod
    def parse(cls, sale: SaleSnapshot, value: Any) -> Seats:
        if not isinstance(value, list | tuple) or not value:
            raise ValidationFailed(details={"seats": [_("Choose at least one seat.")]})
        if not all(isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in value):
            raise ValidationFailed(details={"seats": [_("Seat ids must be positive integers.")]})
        if len(set(value)) != len(value):
            dupes = sorted({s for s in value if value.count(s) > 1})
            raise ValidationFailed(
                details={"seats": [_("Each seat may be chosen once: %(ids)s") % {"ids": dupes}]}
            )
        # Unknown ids are found by the locking read in take (one round trip less).
        return cls(seat_ids=tuple(sorted(value)))

    def take(self, take: Take) -> Taken:
        """All of the seats or nothing: lock them in id order, then one conditional
        UPDATE (stock.seats_take). Unknown ids → validation_error; any seat not
        free (or in an allocation not open to this buyer) → seat_unavailable
        listing those ids (the transaction rolls back). Half of a pair (a love
        seat, a wheelchair space and its companion seat) → validation_error
        before any lock (pairs.py).
        """
        seat_ids = list(self.seat_ids)
        if take.sale.paired:
            pairs_check(event_id=take.event.pk, seat_ids=seat_ids)
        rows, marked = stock.seats_take(
            event_id=take.event.pk,
            seat_ids=seat_ids,
            hold_id=take.hold_id,
            until=take.until,
            now=take.now,
            channel=take.channel,
            phase_id=take.phase_id,
        )
        unknown = sorted(set(seat_ids) - {row[0] for row in rows})
        if unknown:
            raise ValidationFailed(
                details={"seats": [_("Unknown seats for this event: %(ids)s") % {"ids": unknown}]}
            )
        gone = [row[0] for row in rows if not row[2]]
        if gone:
            raise SeatUnavailable(details={"seats": gone})
        if marked != len(seat_ids):
            # Cannot happen while we hold the row locks; fail closed if it does.
            raise SeatUnavailable(details={"seats": sorted(seat_ids)})
        return taken_seats(rows)
