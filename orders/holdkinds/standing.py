"""Standing places: a quantity of one standing area, counted in
StandingArea.held/sold (no rows per place). The hold's places are its
HoldStanding lines."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils.translation import gettext as _
from rest_framework import serializers
from rest_framework.fields import empty

from events import stock
from events.models import Section
from events.selectors import SaleSnapshot
from orders.exceptions import NotEnoughSeats, ValidationFailed
from orders.holdkinds.base import (
    HoldKind,
    Take,
    Taken,
    check_quantity,
    check_ref,
    sections_of_kind,
)
from orders.models import Hold, HoldStanding

if TYPE_CHECKING:
    from orders.models import Order, Ticket


# The area's lapsed holds whose places still count in `held` (active, or
# ordered and awaiting payment: orders.services.holds._stock_holding_q), that
# nobody else has locked (a payment or the sweeper settles those). Read under
# the area's row lock, in the same round trip (stock.standing_lock_and_take).
_LAPSED_SQL = """
SELECT h.id FROM orders_hold h
JOIN orders_holdstanding hs ON hs.hold_id = h.id
JOIN events_standingarea a ON a.id = hs.area_id
LEFT JOIN orders_order o ON o.hold_id = h.id
WHERE a.event_id = %s AND a.section_id = %s AND h.expires_at < %s
  AND (h.status = 'active' OR (h.status = 'converted' AND o.status = 'pending_payment'))
FOR UPDATE OF h SKIP LOCKED
"""


def _lapsed_holds_sql(event_id: int, section_id: int, now: datetime) -> tuple[str, list]:
    return _LAPSED_SQL, [event_id, section_id, now]


class StandingIn(serializers.Serializer):
    section = serializers.IntegerField()
    quantity = serializers.IntegerField(min_value=1)

    def run_validation(self, data=empty):
        return dict(super().run_validation(data))


@dataclass(frozen=True)
class Standing(HoldKind):
    """`quantity` places of the standing area of section `section_id`."""

    field = "standing"
    name = "standing"
    quantity: int
    section_id: int
    form_fields = {"section": "standing_section", "quantity": "quantity"}

    @classmethod
    def api_field(cls) -> serializers.Field:
        return StandingIn(required=False)

    @classmethod
    def parse(cls, sale: SaleSnapshot, value: Any) -> Standing:
        quantity = check_quantity(value.get("quantity"), "standing")
        if value.get("section") in (None, ""):
            raise ValidationFailed(details={"standing": [_("Choose a standing area.")]})
        areas = sections_of_kind(sale, Section.Kind.STANDING)
        section_id = check_ref(value.get("section"), areas, "section")
        if section_id not in sale.standing:
            raise ValidationFailed(details={"section": [_("This area is not on sale.")]})
        return cls(quantity=quantity, section_id=section_id)

    def take(self, take: Take) -> Taken:
        """Lock the area's row, find its lapsed holds (what makes standing
        expiry exact without a worker: their places still count in `held`)
        and, when the area reserves nothing, take the places from the general
        sale: one round trip (stock.standing_lock_and_take). Then expire the
        lapsed holds found (their places come back); if the places were not
        taken, release the area's allocations whose time has come (only when
        it reserves places), and take them from an allocation open to this
        buyer while it has them, else from the general sale (one conditional
        UPDATE each, events/stock.py)."""
        area, lapsed, taken = stock.standing_lock_and_take(
            event_id=take.event.pk,
            section_id=self.section_id,
            quantity=self.quantity,
            between=_lapsed_holds_sql(take.event.pk, self.section_id, take.now),
        )
        if lapsed:
            take.expire_locked([hold_id for (hold_id,) in lapsed])
        allocation_id = None
        if not taken:
            if area.reserved:
                take.release_due(take.now, area=area)
            for candidate in stock.standing_allocations_open(
                area=area, channel=take.channel, phase_id=take.phase_id, now=take.now
            ):
                if stock.standing_take_allocated(
                    area_id=area.pk, allocation_id=candidate, quantity=self.quantity
                ):
                    allocation_id = candidate
                    break
            if allocation_id is None and not stock.standing_take(
                area_id=area.pk, quantity=self.quantity
            ):
                area.refresh_from_db(fields=["held", "sold", "capacity", "reserved"])
                raise NotEnoughSeats(
                    _("Not enough places left in this area."),
                    details={"available": area.available, "requested": self.quantity},
                )
        item = {
            "standing": area.section_id,
            "section": take.sale.sections[area.section_id].name,
            "quantity": self.quantity,
            "tier": area.tier.name,
            "price": str(area.tier.price),
        }
        quantity = self.quantity

        def lines(hold: Hold) -> list[HoldStanding]:
            return [
                HoldStanding(hold=hold, area=area, quantity=quantity, allocation_id=allocation_id)
            ]

        return Taken(seat_ids=[], total=area.tier.price * quantity, items=[item], lines=lines)

    @classmethod
    def return_stock(cls, hold: Hold) -> None:
        # An expired or released hold gave its places back already.
        if hold.status in (Hold.Status.ACTIVE, Hold.Status.CONVERTED):
            for line in HoldStanding.objects.filter(hold=hold).order_by("area_id"):
                stock.standing_return(
                    area_id=line.area_id, quantity=line.quantity, allocation_id=line.allocation_id
                )

    @classmethod
    def sell(cls, order: Order, hold: Hold) -> bool:
        # Places still count in `held` unless the hold was expired or released
        # (the sweeper gave them back): then fresh places must be free, from
        # the same allocation while it has them, else from the general sale
        # (the line then says so, for a later refund).
        still_held = hold.status in (Hold.Status.ACTIVE, Hold.Status.CONVERTED)
        for line in hold.standing.all().order_by("area_id"):
            if still_held or line.allocation_id is None:
                sold = stock.standing_sell(
                    area_id=line.area_id,
                    quantity=line.quantity,
                    still_held=still_held,
                    allocation_id=line.allocation_id,
                )
            else:
                with transaction.atomic():  # a failed allocation take leaves no trace
                    sold = stock.standing_sell(
                        area_id=line.area_id,
                        quantity=line.quantity,
                        still_held=False,
                        allocation_id=line.allocation_id,
                    )
                    if not sold:
                        transaction.set_rollback(True)
                if not sold:
                    sold = stock.standing_sell(
                        area_id=line.area_id, quantity=line.quantity, still_held=False
                    )
                    if sold:
                        line.allocation_id = None
                        line.save(update_fields=["allocation"])
            if not sold:
                return False
        return True

    @classmethod
    def unsell(cls, order: Order, tickets: list[Ticket]) -> None:
        back = Counter(t.standing_area_id for t in tickets if t.standing_area_id is not None)
        if not back:
            return
        lines = HoldStanding.objects.filter(hold_id=order.hold_id, area_id__in=list(back))
        allocation_of = dict(lines.values_list("area_id", "allocation_id"))
        for area_id, quantity in sorted(back.items()):
            stock.standing_unsell(
                area_id=area_id, quantity=quantity, allocation_id=allocation_of.get(area_id)
            )

    @classmethod
    def ticket_places(cls, hold: Hold) -> list[dict[str, Any]]:
        return [
            {
                "standing_area": line.area,
                "tier_id": line.area.tier_id,
                "price": line.area.tier.price,
            }
            for line in hold.standing.select_related("area__tier")
            for _place in range(line.quantity)
        ]

    @classmethod
    def items(cls, hold: Hold) -> list[dict]:
        return [
            {
                "standing": line.area.section_id,
                "section": line.area.section.localized_name,
                "quantity": line.quantity,
                "tier": line.area.tier.localized_name,
                "price": str(line.area.tier.price),
            }
            for line in hold.standing.select_related("area__section", "area__tier")
        ]

    @classmethod
    def describe(cls, ticket: Ticket) -> dict[str, str | None]:
        return {
            "section": ticket.standing_area.section.localized_name,
            "row": None,
            "seat": None,
            "tier": ticket.tier.localized_name,
        }
