"""The correctness audit run after every load test (BENCH.md): plain SQL on the
tables, so it trusts none of the code it checks.

Each check counts violations; every count must be 0. "Valid" tickets are the
ones that admit someone: status `valid` or `used` (a voided ticket sells nothing).
"""

from __future__ import annotations

LIVE = "('valid', 'used')"

CHECKS: dict[str, str] = {
    # A valid ticket for a seat that is not marked sold: the seat could be sold
    # again to someone else.
    "oversold_seats": f"""
        SELECT count(*) FROM orders_ticket t
        JOIN events_eventseat s ON s.id = t.event_seat_id
        WHERE t.status IN {LIVE} AND s.status <> 'sold' {{event_t}}
    """,
    # One seat, two people.
    "seats_in_two_valid_tickets": f"""
        SELECT count(*) FROM (
            SELECT t.event_seat_id FROM orders_ticket t
            WHERE t.status IN {LIVE} AND t.event_seat_id IS NOT NULL {{event_t}}
            GROUP BY t.event_seat_id HAVING count(*) > 1
        ) AS doubled
    """,
    # A seat marked sold that nobody holds a ticket for (lost sale).
    "sold_seats_without_ticket": f"""
        SELECT count(*) FROM events_eventseat s
        WHERE s.status = 'sold' {{event_s}} AND NOT EXISTS (
            SELECT 1 FROM orders_ticket t
            WHERE t.event_seat_id = s.id AND t.status IN {LIVE})
    """,
    # Standing: the counters past capacity, or more live tickets than places.
    "standing_over_capacity": f"""
        SELECT count(*) FROM events_standingarea a
        WHERE ({{event_a}} TRUE) AND (
            a.held + a.sold > a.capacity
            OR (SELECT count(*) FROM orders_ticket t
                WHERE t.standing_area_id = a.id AND t.status IN {LIVE}) > a.capacity)
    """,
    # Money taken, tickets missing (or fewer than bought).
    "paid_orders_without_tickets": f"""
        SELECT count(*) FROM orders_order o
        WHERE o.status = 'paid' {{event_o}} AND o.quantity > (
            SELECT count(*) FROM orders_ticket t
            WHERE t.order_id = o.id AND t.status IN {LIVE})
    """,
    # Tickets given away: the order behind them is not paid.
    "tickets_without_paid_orders": f"""
        SELECT count(*) FROM orders_ticket t
        JOIN orders_order o ON o.id = t.order_id
        WHERE t.status IN {LIVE} AND o.status <> 'paid' {{event_t}}
    """,
}


def _sql(template: str, event_id: int | None) -> tuple[str, list]:
    filters = {"event_t": "", "event_s": "", "event_o": "", "event_a": ""}
    params: list = []
    if event_id is not None:
        filters = {
            "event_t": "AND t.event_id = %s",
            "event_s": "AND s.event_id = %s",
            "event_o": "AND o.event_id = %s",
            "event_a": "a.event_id = %s AND",
        }
        params = [event_id] * template.count("{event_")
    return template.format(**filters), params


def audit(cursor, *, event_id: int | None = None) -> dict[str, int]:
    """Every check's violation count, for one event or all of them."""
    result: dict[str, int] = {}
    for name, template in CHECKS.items():
        sql, params = _sql(template, event_id)
        cursor.execute(sql, params)
        result[name] = int(cursor.fetchone()[0])
    return result


STOCK_SQL = """
    SELECT
      (SELECT count(*) FROM events_eventseat WHERE event_id = %(e)s AND status = 'sold')
      + (SELECT coalesce(sum(sold), 0) FROM events_standingarea WHERE event_id = %(e)s),
      (SELECT count(*) FROM events_eventseat
        WHERE event_id = %(e)s AND status = 'held' AND held_until >= now())
      + (SELECT coalesce(sum(held), 0) FROM events_standingarea WHERE event_id = %(e)s),
      (SELECT count(*) FROM events_eventseat WHERE event_id = %(e)s AND (status = 'available'
        OR (status = 'held' AND held_until < now())))
      + (SELECT coalesce(sum(capacity - held - sold), 0)
         FROM events_standingarea WHERE event_id = %(e)s),
      (SELECT count(*) FROM orders_order WHERE event_id = %(e)s AND status = 'paid')
"""


def stock(cursor, *, event_id: int) -> dict[str, int]:
    """Places sold / held (unexpired) / available (incl. expired holds), paid orders."""
    cursor.execute(STOCK_SQL, {"e": event_id})
    sold, held, available, paid = (int(v) for v in cursor.fetchone())
    return {"sold": sold, "held": held, "available": available, "paid_orders": paid}
