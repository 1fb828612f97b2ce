"""Best available: N seats side by side in one row, the best block first."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.utils.translation import gettext as _
from rest_framework import serializers
from rest_framework.fields import empty

from events import stock
from events.models import Section
from events.selectors import SaleSnapshot
from orders.exceptions import NotEnoughSeats, SeatUnavailable
from orders.holdkinds.base import (
    Take,
    Taken,
    check_quantity,
    check_ref,
    sections_of_kind,
)
from orders.holdkinds.pairs import block_keeps_pairs
from orders.holdkinds.seats import Seated, taken_seats

# Best-available reads the best free seats in growing windows: the first
# almost always has a block (a sale's start, and most of it), the next is for
# a picked-over front, and only when no block fits there is the whole
# tier/section read. Each window is an index range scan (eventseat_best_idx)
# of that many rows, so a pick costs its window, not the event's size.
BEST_WINDOWS: tuple[int | None, ...] = (250, 2000, None)
# How many candidate blocks best-available tries to lock before giving up.
BEST_ATTEMPTS = 25


class BestAvailableIn(serializers.Serializer):
    quantity = serializers.IntegerField(min_value=1)
    tier = serializers.IntegerField(required=False, allow_null=True)
    section = serializers.IntegerField(required=False, allow_null=True)
    together = serializers.BooleanField(default=True)

    def run_validation(self, data=empty):
        # Here, not in validate(): the message stays a list under
        # "best_available", as API.md's error body shows it.
        value = super().run_validation(data)
        if not value["together"]:
            raise serializers.ValidationError(_("Only together=true is supported."))
        return dict(value)


@dataclass(frozen=True)
class BestAvailable(Seated):
    """`quantity` seats together, optionally within one tier or one seated section."""

    field = "best_available"
    name = "best"
    quantity: int
    tier_id: int | None = None
    section_id: int | None = None
    form_fields = {"quantity": "best_quantity", "tier": "tier", "section": "section"}

    @classmethod
    def api_field(cls) -> serializers.Field:
        return BestAvailableIn(required=False)

    @classmethod
    def parse(cls, sale: SaleSnapshot, value: Any) -> BestAvailable:
        quantity = check_quantity(value.get("quantity"), "best_available")
        tiers: dict[int | str, int] = {pk: pk for pk in sale.tiers}
        tier_id = check_ref(value.get("tier"), tiers, "tier")
        seated = sections_of_kind(sale, Section.Kind.SEATED)
        section_id = check_ref(value.get("section"), seated, "section")
        return cls(quantity=quantity, tier_id=tier_id, section_id=section_id)

    def take(self, take: Take) -> Taken:
        """Reads candidate free seats without locks, ranks every run of N adjacent
        numbers by total quality (lower is better), then tries to lock each block
        with FOR UPDATE SKIP LOCKED inside a savepoint: a block partly locked or
        taken by another buyer is skipped (savepoint rolled back, its locks
        dropped) and the next best is tried. Only N rows are locked per attempt,
        so concurrent buyers spread over different blocks instead of queueing.

        The first read looks at the best free seats of the first BEST_WINDOWS
        window only. When no block there can be had (none fits, or rivals took
        every one), the next, larger window is read, up to the whole
        tier/section: late in a sale the best area is full of single leftover
        seats, and a buyer must not be told "not enough seats" while blocks
        are free further back.
        """
        n = self.quantity
        event_id = take.event.pk
        tried: set[tuple[int, ...]] = set()
        for limit in BEST_WINDOWS:
            blocks, complete = self._blocks(take, limit=limit)
            fresh = [block for block in blocks if tuple(block) not in tried]
            for block in fresh[:BEST_ATTEMPTS]:
                tried.add(tuple(block))
                try:
                    with transaction.atomic():
                        rows = stock.seats_lock(
                            event_id=event_id,
                            seat_ids=block,
                            now=take.now,
                            skip_locked=True,
                            channel=take.channel,
                            phase_id=take.phase_id,
                        )
                        if sum(1 for row in rows if row[2]) != n:
                            raise _BlockTaken()
                        marked = stock.seats_mark_held(
                            event_id=event_id,
                            seat_ids=block,
                            hold_id=take.hold_id,
                            until=take.until,
                            now=take.now,
                            channel=take.channel,
                            phase_id=take.phase_id,
                        )
                        if marked != len(block):
                            # Cannot happen while we hold the row locks; fail closed if it does.
                            raise SeatUnavailable(details={"seats": sorted(block)})
                        return taken_seats(rows)
                except _BlockTaken:
                    continue
            if complete:
                break
        raise NotEnoughSeats(details={"quantity": n})

    def _blocks(self, take: Take, *, limit: int | None) -> tuple[list[list[int]], bool]:
        """Candidate blocks, best first, and whether every free seat was read
        (free for this buyer: allocations not open to them are left out)."""
        # `status IN (...)` is eventseat_best_idx's condition, spelled as it is,
        # so the planner walks that index in rank order and stops at the limit.
        where = [
            f"es.event_id = %s AND es.status IN ('available', 'held') "
            f"AND {stock.AVAILABLE} AND {stock.USABLE}"
        ]
        params: list[Any] = [
            take.event.pk,
            take.now,
            *stock.usable_params(
                event_id=take.event.pk, now=take.now, channel=take.channel, phase_id=take.phase_id
            ),
        ]
        if self.tier_id is not None:
            where.append("es.tier_id = %s")
            params.append(self.tier_id)
        if self.section_id is not None:
            where.append("es.section_id = %s")
            params.append(self.section_id)
        sql = (
            "SELECT es.id, es.section_id, s.row_index, s.number, es.quality_rank, es.tier_id, "  # noqa: S608
            "s.id, s.kind, s.pair_id "
            "FROM events_eventseat es JOIN events_seat s ON s.id = es.seat_id "
            f"WHERE {' AND '.join(where)} ORDER BY es.quality_rank, es.id"
        )
        if limit is not None:
            sql += " LIMIT %s"
            params.append(limit)
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        by_row: dict[tuple[int, int, int], list[tuple]] = defaultdict(list)
        for seat_id, section_id, row_index, number, rank, tier_id, *kinds in rows:
            # A block stays within one price tier so its price is what was asked for.
            by_row[(section_id, row_index, tier_id)].append((number, seat_id, rank, tuple(kinds)))
        n = self.quantity
        ranked: list[tuple[int, int, list[int]]] = []
        for seats in by_row.values():
            seats.sort()
            for i in range(len(seats) - n + 1):
                window = seats[i : i + n]
                if window[-1][0] - window[0][0] != n - 1:  # consecutive numbers only
                    continue
                if not block_keeps_pairs([kinds for *_, kinds in window]):
                    continue  # no wheelchair spaces, no half sofas (pairs.py)
                score = sum(seat[2] for seat in window)
                ranked.append((score, window[0][1], [seat[1] for seat in window]))
        ranked.sort(key=lambda item: (item[0], item[1]))
        complete = limit is None or len(rows) < limit
        return [ids for _, _, ids in ranked], complete


class _BlockTaken(Exception):
    pass
