"""Seats sold only together (Seat.pair, events/layouts/README.md): the two
halves of a love seat, and a wheelchair space with its companion seat.

The rule is about the request, not about the stock: a hold naming one seat of
a pair must name the other too. The pairs are the hall's layout, which no sale
changes, so the check reads them without locks, before the seats are taken;
the seats themselves are then taken all or nothing under the usual row locks
(events/stock.py), so two buyers racing for the same sofa cannot end with a
half each: each asked for both, and exactly one gets both.

A companion seat is never released to general sale: sold to someone else it
would leave the wheelchair space without its companion.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connection
from django.utils.translation import gettext as _

from orders.exceptions import ValidationFailed

# Seat.Kind values that come in pairs.
PAIRED = ("love", "wheelchair", "companion")
# The paired seats among the asked ones, with their pair's EventSeat of the same event.
_PAIRS_SQL = (
    "SELECT es.id, s.kind, s.row_label, s.number, pes.id, ps.number "
    "FROM events_eventseat es JOIN events_seat s ON s.id = es.seat_id "
    "JOIN events_seat ps ON ps.id = s.pair_id "
    "LEFT JOIN events_eventseat pes ON pes.seat_id = ps.id AND pes.event_id = es.event_id "
    "WHERE es.event_id = %s AND es.id = ANY(%s) AND s.kind = ANY(%s)"
)


def pairs_check(*, event_id: int, seat_ids: Sequence[int]) -> None:
    """Refuse (ValidationFailed, one message per pair) a request that names one
    seat of a pair without the other."""
    with connection.cursor() as cursor:
        cursor.execute(_PAIRS_SQL, [event_id, list(seat_ids), list(PAIRED)])
        rows = cursor.fetchall()
    asked = set(seat_ids)
    problems: list[str] = []
    for _id, kind, row, number, pair_id, pair_number in sorted(rows, key=lambda r: (r[2], r[3])):
        if pair_id in asked:
            continue
        where = {"row": row, "a": min(number, pair_number), "b": max(number, pair_number)}
        if kind == "love":
            message = _(
                "A love seat is sold as a pair: choose both halves (row %(row)s, seats "
                "%(a)s and %(b)s)."
            )
        elif kind == "wheelchair":
            message = _(
                "A wheelchair space is sold with its companion seat: choose both (row "
                "%(row)s, seats %(a)s and %(b)s)."
            )
        else:
            message = _(
                "A companion seat is sold only with its wheelchair space: choose both (row "
                "%(row)s, seats %(a)s and %(b)s)."
            )
        problems.append(message % where)
    if problems:
        raise ValidationFailed(details={"seats": problems})


def block_keeps_pairs(kinds: Sequence[tuple[int, str, int | None]]) -> bool:
    """Whether best-available may offer this block of (seat id, kind, pair seat
    id): never a wheelchair space or a companion seat (nobody asked for one),
    never half a love seat."""
    if not any(kind in PAIRED for _seat_id, kind, _pair in kinds):
        return True  # the stadium's every block: no set to build
    inside = {seat_id for seat_id, _kind, _pair in kinds}
    for _seat_id, kind, pair in kinds:
        if kind in ("wheelchair", "companion"):
            return False
        if kind == "love" and pair is not None and pair not in inside:
            return False
    return True
