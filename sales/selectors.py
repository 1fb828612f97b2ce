"""The post-sale report: each table computed from what Postgres keeps.

Sources: the room's snapshots (queueing), holds, orders and tickets (orders),
payments (payments), the audit trail and the per-minute request rollup
(sales.models.RequestMinute). Nothing here reads Redis, so the report of a
sale whose Redis was lost is the same report. Every table is a few aggregate
queries (GROUP BY in Postgres), never a loop over rows in Python, except the
wait percentiles, which walk the room's snapshots (one every
QUEUE_SNAPSHOT_SECONDS, a few thousand for a long sale).

Money is Decimal throughout; times are UTC here and shown in the event's
time zone by the pages, the CSV files and the PDF.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import CharField, Count, F, Max, Min, Q, Sum, Value
from django.db.models.functions import Cast, Coalesce, Trunc
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from events.models import Event, EventSeat, PriceTier, StandingArea
from orders.models import Hold, Order, Ticket
from payments.models import Payment
from queueing.models import WaitingRoom, WaitingRoomSnapshot
from sales.models import RequestMinute
from ticketing.audit import AuditAction
from ticketing.models import AuditEntry

ZERO = Decimal("0.00")
# A room ticks (and so snapshots) for as long as it exists: the timeline
# keeps the last three days of a longer window.
MAX_TIMELINE_MINUTES = 3 * 24 * 60
# The built-in sandbox acquirer's 3-D Secure page, when kassa's processes serve it
# (SANDBOX_URL unset); an outside acquirer's challenge is not seen by kassa.
THREE_DS_VIEW = "sandbox:three_ds"
SOLD = (Ticket.Status.VALID, Ticket.Status.USED)


@dataclass
class Table:
    """One table of the report: its file name, title, columns and rows."""

    name: str
    title: Any
    columns: list[tuple[str, Any]]  # (key, label)
    rows: list[dict[str, Any]]
    totals: dict[str, Any] | None = None
    money: set[str] = field(default_factory=set)  # keys holding Decimal amounts


@dataclass
class Report:
    event: Event
    start: datetime
    end: datetime
    tables: list[Table]

    def table(self, name: str) -> Table:
        return next(t for t in self.tables if t.name == name)


def _room(event: Event) -> WaitingRoom | None:
    return WaitingRoom.objects.filter(event=event).first()


def sale_window(event: Event) -> tuple[datetime, datetime]:
    """From the first visitor in the room (or the first hold) to the last
    thing that happened (a hold, a payment, a snapshot), in whole UTC minutes.

    A room ticks and snapshots from its creation, busy or not: its idle hours
    before the first join are not part of the sale."""
    room = _room(event)
    starts, ends = [], []
    if room is not None:
        busy = room.snapshots.filter(tail__gt=0).aggregate(first=Min("taken_at"))["first"]
        # The snapshot before the first busy one: the joins it saw happened after it.
        before = (
            room.snapshots.filter(taken_at__lt=busy).aggregate(x=Max("taken_at"))["x"]
            if busy
            else None
        )
        starts.append(before or busy)
        ends.append(room.snapshots.aggregate(x=Max("taken_at"))["x"] if busy else None)
    holds = Hold.objects.filter(event=event).aggregate(
        first=Min("created_at"), last=Max("created_at")
    )
    starts.append(holds["first"])
    ends.append(holds["last"])
    ends.append(Payment.objects.filter(order__event=event).aggregate(x=Max("updated_at"))["x"])
    ends.append(Order.objects.filter(event=event).aggregate(x=Max("paid_at"))["x"])
    starts = [s for s in starts if s is not None]
    ends = [e for e in ends if e is not None]
    now = timezone.now()
    start = min(starts) if starts else now
    end = max([*ends, start]) if ends else start
    start = start.astimezone(UTC).replace(second=0, microsecond=0)
    end = end.astimezone(UTC).replace(second=0, microsecond=0) + timedelta(minutes=1)
    if end - start > timedelta(minutes=MAX_TIMELINE_MINUTES):
        start = end - timedelta(minutes=MAX_TIMELINE_MINUTES)
    return start, end


def _minute(expr: str):
    return Trunc(expr, "minute", tzinfo=UTC)


def _per_minute(qs, expr: str, **aggregates) -> dict[datetime, dict[str, Any]]:
    rows = qs.annotate(m=_minute(expr)).values("m").annotate(**aggregates).order_by("m")
    return {r["m"]: r for r in rows}


# --- the queue, from the snapshots -------------------------------------------


@dataclass
class Snapshots:
    """A room's snapshots in a window, oldest first, as parallel lists."""

    t: list[float]
    tail: list[int]
    serving: list[int]
    counters: list[dict[str, int]]
    # The counters before the window: the last snapshot before it, or zeros
    # (a room's counters start at 0), so per-minute deltas add up to the totals.
    before: dict[str, int] = field(default_factory=dict)

    @classmethod
    def load(cls, room: WaitingRoom | None, start: datetime, end: datetime) -> Snapshots:
        if room is None:
            return cls([], [], [], [])
        earlier = (
            WaitingRoomSnapshot.objects.filter(room=room, taken_at__lt=start)
            .order_by("-taken_at")
            .values_list("counters", flat=True)
            .first()
        )
        rows = (
            WaitingRoomSnapshot.objects.filter(room=room, taken_at__gte=start, taken_at__lt=end)
            .order_by("taken_at")
            .values_list("taken_at", "tail", "serving", "counters")
        )
        t, tail, serving, counters = [], [], [], []
        for taken_at, tl, sv, cnt in rows:
            t.append(taken_at.timestamp())
            # Monotone: a rebuilt room never goes back, but a stale snapshot
            # written by a late tick could; the curves take the highest so far.
            tail.append(max(tl, tail[-1] if tail else tl))
            serving.append(max(sv, serving[-1] if serving else sv))
            counters.append(cnt or {})
        return cls(t, tail, serving, counters, earlier or {})


def _time_reaching(ts: list[float], values: list[int], n: int) -> float | None:
    """When the monotone curve `values` first reached n (linear between snapshots)."""
    i = bisect.bisect_left(values, n)
    if i >= len(values):
        return None
    if i == 0 or values[i] == values[i - 1]:
        return ts[i]
    frac = (n - values[i - 1]) / (values[i] - values[i - 1])
    return ts[i - 1] + frac * (ts[i] - ts[i - 1])


def wait_seconds(
    snaps: Snapshots, *, since: float | None = None, samples: int = 2000
) -> list[float]:
    """Waits from join to admission of the numbers admitted in the window (or
    since `since`), sampled evenly over at most `samples` numbers.

    A number n joined when the tail reached n and was admitted when the
    serving counter reached n: the horizontal distance between the two
    curves. Numbers are handed out in join order after the opening, and the
    pre-queue's all at the draw, so for them this is the wait from the draw.
    Exact to the snapshot interval."""
    if len(snaps.t) < 2:
        return []
    first = 0
    if since is not None:
        first = bisect.bisect_left(snaps.t, since)
        first = max(first - 1, 0)
    low, high = snaps.serving[first], snaps.serving[-1]
    if high <= low:
        return []
    step = max((high - low) // samples, 1)
    waits = []
    for n in range(low + 1, high + 1, step):
        joined = _time_reaching(snaps.t, snaps.tail, n)
        admitted = _time_reaching(snaps.t, snaps.serving, n)
        if joined is not None and admitted is not None and n > snaps.tail[0]:
            waits.append(max(admitted - joined, 0.0))
        elif joined is not None and admitted is not None:
            # Joined before the first snapshot of the window: at least this long.
            waits.append(max(admitted - snaps.t[0], 0.0))
    return waits


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100) of unsorted values; None if empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(int(-(-q * len(ordered) // 100)), 1)  # ceil(q/100 * n), at least 1
    return ordered[min(rank, len(ordered)) - 1]


def _queue_minutes(snaps: Snapshots) -> dict[datetime, dict[str, int]]:
    """Per minute: joined and admitted during it, waiting at its end."""
    out: dict[datetime, dict[str, int]] = {}
    prev_joined = int(snaps.before.get("joined", 0))
    prev_admitted = int(snaps.before.get("admitted", 0))
    for i, ts in enumerate(snaps.t):
        m = datetime.fromtimestamp(ts - ts % 60, tz=UTC)
        joined = int(snaps.counters[i].get("joined", 0))
        admitted = int(snaps.counters[i].get("admitted", 0))
        row = out.setdefault(m, {"joined": 0, "admitted": 0, "waiting": 0})
        # A rebuilt room's counters restart from its last snapshot: never negative.
        row["joined"] += max(joined - prev_joined, 0)
        row["admitted"] += max(admitted - prev_admitted, 0)
        row["waiting"] = max(snaps.tail[i] - snaps.serving[i], 0)
        prev_joined, prev_admitted = max(joined, prev_joined), max(admitted, prev_admitted)
    return out


# --- the tables -----------------------------------------------------------------


def timeline(event: Event, start: datetime, end: datetime, snaps: Snapshots) -> Table:
    in_window = {"created_at__gte": start, "created_at__lt": end}
    holds = _per_minute(Hold.objects.filter(event=event, **in_window), "created_at", n=Count("id"))
    orders = _per_minute(
        Order.objects.filter(event=event, **in_window), "created_at", n=Count("id")
    )
    paid = _per_minute(
        Order.objects.filter(event=event, paid_at__gte=start, paid_at__lt=end),
        "paid_at",
        n=Count("id"),
        revenue=Sum("total"),
    )
    tickets = _per_minute(
        Ticket.objects.filter(event=event, **in_window), "created_at", n=Count("id")
    )
    refunds = _per_minute(
        Payment.objects.filter(
            order__event=event,
            status=Payment.Status.REFUNDED,
            updated_at__gte=start,
            updated_at__lt=end,
        ),
        "updated_at",
        n=Count("id"),
        amount=Sum("amount"),
    )
    requests = (
        RequestMinute.objects.filter(minute__gte=start, minute__lt=end)
        .values("minute")
        .annotate(
            errors=Sum("n", filter=Q(status="5xx")),
            # 4xx answers, and pages' refusals (a redirect with a message and a cause).
            refusals=Sum("n", filter=Q(status="4xx") | (Q(status="3xx") & ~Q(cause=""))),
        )
    )
    requests = {r["minute"]: r for r in requests}
    queue = _queue_minutes(snaps)
    rows = []
    m = start
    while m < end:
        q = queue.get(m, {})
        rows.append(
            {
                "minute": m,
                "joined": q.get("joined", 0),
                "admitted": q.get("admitted", 0),
                "waiting": q.get("waiting", ""),
                "holds": holds.get(m, {}).get("n", 0),
                "orders": orders.get(m, {}).get("n", 0),
                "paid": paid.get(m, {}).get("n", 0),
                "tickets": tickets.get(m, {}).get("n", 0),
                "revenue": paid.get(m, {}).get("revenue") or ZERO,
                "refunds": refunds.get(m, {}).get("n", 0),
                "refunded": refunds.get(m, {}).get("amount") or ZERO,
                "refusals": requests.get(m, {}).get("refusals") or 0,
                "errors": requests.get(m, {}).get("errors") or 0,
            }
        )
        m += timedelta(minutes=1)
    summed = ("joined", "admitted", "holds", "orders", "paid", "tickets", "revenue", "refunds",
              "refunded", "refusals", "errors")  # fmt: skip
    totals = {"minute": _("Total"), "waiting": ""}
    totals |= {
        k: sum((r[k] for r in rows), ZERO if k in ("revenue", "refunded") else 0) for k in summed
    }
    columns = [
        ("minute", _("minute")),
        ("joined", _("joined")),
        ("admitted", _("admitted")),
        ("waiting", _("waiting")),
        ("holds", _("holds")),
        ("orders", _("orders")),
        ("paid", _("paid")),
        ("tickets", _("tickets")),
        ("revenue", _("revenue")),
        ("refunds", _("refunds")),
        ("refunded", _("refunded")),
        ("refusals", _("refusals (4xx)")),
        ("errors", _("errors (5xx)")),
    ]
    return Table(
        "timeline", _("Per-minute timeline"), columns, rows, totals, {"revenue", "refunded"}
    )


def _sales_by(event: Event, key, label: Any, name: str, title: Any) -> Table:
    """Tickets and revenue grouped by `key` (an expression over Ticket)."""
    rows = list(
        Ticket.objects.filter(event=event)
        .annotate(k=key)
        .values("k")
        .annotate(
            tickets=Count("id"),
            revenue=Coalesce(Sum("price"), Value(ZERO)),
            refunded=Count("id", filter=Q(status=Ticket.Status.VOID)),
            net_tickets=Count("id", filter=Q(status__in=SOLD)),
            net_revenue=Coalesce(Sum("price", filter=Q(status__in=SOLD)), Value(ZERO)),
        )
        .order_by("-revenue", "k")
    )
    for r in rows:
        r["key"] = r.pop("k") or "—"
    return _with_totals(
        Table(name, title, [("key", label), *_SOLD_COLUMNS], rows, money={"revenue", "net_revenue"})
    )


_SOLD_COLUMNS = [
    ("tickets", _("tickets issued")),
    ("revenue", _("revenue")),
    ("refunded", _("tickets refunded")),
    ("net_tickets", _("tickets valid")),
    ("net_revenue", _("net revenue")),
]


def _with_totals(table: Table) -> Table:
    first = table.columns[0][0]
    totals: dict[str, Any] = {first: _("Total")}
    for key, _label in table.columns[1:]:
        values = [r[key] for r in table.rows if isinstance(r.get(key), (int, Decimal))]
        if values and key not in ("price",):
            totals[key] = sum(values, ZERO if key in table.money else 0)
    table.totals = totals
    return table


def by_tier(event: Event) -> Table:
    sold = {
        r["tier"]: r
        for r in Ticket.objects.filter(event=event)
        .values("tier")
        .annotate(
            tickets=Count("id"),
            revenue=Coalesce(Sum("price"), Value(ZERO)),
            refunded=Count("id", filter=Q(status=Ticket.Status.VOID)),
            net_tickets=Count("id", filter=Q(status__in=SOLD)),
            net_revenue=Coalesce(Sum("price", filter=Q(status__in=SOLD)), Value(ZERO)),
        )
    }
    left = tickets_left_by_tier(event)
    capacity = capacity_by_tier(event)
    rows = []
    for tier in PriceTier.objects.filter(event=event).order_by("sort_order", "pk"):
        s = sold.get(tier.pk, {})
        rows.append(
            {
                "key": tier.localized_name,
                "price": tier.price,
                "capacity": capacity.get(tier.pk, 0),
                "tickets": s.get("tickets", 0),
                "revenue": s.get("revenue", ZERO),
                "refunded": s.get("refunded", 0),
                "net_tickets": s.get("net_tickets", 0),
                "net_revenue": s.get("net_revenue", ZERO),
                "left": left.get(tier.pk, 0),
            }
        )
    columns = [("key", _("tier")), ("price", _("price")), ("capacity", _("capacity")),
               *_SOLD_COLUMNS, ("left", _("left"))]  # fmt: skip
    money = {"price", "revenue", "net_revenue"}
    return _with_totals(Table("by_tier", _("Sales by tier"), columns, rows, money=money))


def tickets_left_by_tier(event: Event) -> dict[int, int]:
    """Sellable now, per tier id: available seats (and held ones past their
    expiry, DESIGN invariant 2) plus free standing places. Two aggregates."""
    seats = (
        EventSeat.objects.filter(event=event)
        .filter(
            Q(status=EventSeat.Status.AVAILABLE)
            | Q(status=EventSeat.Status.HELD, held_until__lt=timezone.now())
        )
        .values("tier")
        .annotate(n=Count("id"))
    )
    out = {r["tier"]: r["n"] for r in seats}
    standing = (
        StandingArea.objects.filter(event=event)
        .values("tier")
        .annotate(n=Sum(F("capacity") - F("held") - F("sold")))
    )
    for r in standing:
        out[r["tier"]] = out.get(r["tier"], 0) + max(r["n"] or 0, 0)
    return out


def capacity_by_tier(event: Event) -> dict[int, int]:
    seats = (
        EventSeat.objects.filter(event=event)
        .exclude(status=EventSeat.Status.BLOCKED)
        .values("tier")
        .annotate(n=Count("id"))
    )
    out = {r["tier"]: r["n"] for r in seats}
    for r in StandingArea.objects.filter(event=event).values("tier").annotate(n=Sum("capacity")):
        out[r["tier"]] = out.get(r["tier"], 0) + (r["n"] or 0)
    return out


def by_section(event: Event) -> Table:
    key = Coalesce("event_seat__section__name", "standing_area__section__name")
    return _sales_by(event, key, _("section"), "by_section", _("Sales by section"))


def by_channel(event: Event) -> Table:
    return _sales_by(event, F("order__channel"), _("channel"), "by_channel", _("Sales by channel"))


def by_phase(event: Event) -> Table:
    return _sales_by(event, F("order__phase__name"), _("phase"), "by_phase", _("Sales by phase"))


def queue_stats(event: Event, snaps: Snapshots, start: datetime, end: datetime) -> Table:
    rows: list[dict[str, Any]] = []

    def add(metric: Any, value: Any) -> None:
        rows.append({"metric": metric, "value": value})

    holds = Hold.objects.filter(event=event, created_at__gte=start, created_at__lt=end).aggregate(
        all=Count("id"),
        abandoned=Count("id", filter=Q(status__in=[Hold.Status.EXPIRED, Hold.Status.RELEASED])),
    )
    orders = Order.objects.filter(event=event, created_at__gte=start, created_at__lt=end).aggregate(
        unpaid=Count("id", filter=Q(status__in=[Order.Status.EXPIRED, Order.Status.CANCELLED])),
    )
    if snaps.t:
        last = snaps.counters[-1]
        waiting = [tl - sv for tl, sv in zip(snaps.tail, snaps.serving, strict=True)]
        peak = max(waiting)
        at = snaps.t[waiting.index(peak)]
        admitted = int(last.get("admitted", 0)) or snaps.serving[-1]
        no_show = int(last.get("no_show", 0))
        waits = wait_seconds(snaps)
        add(_("visitors who joined"), int(last.get("joined", 0)))
        add(_("admitted"), admitted)
        add(_("peak waiting"), peak)
        add(_("peak waiting at"), datetime.fromtimestamp(at, tz=UTC))
        for q in (50, 90, 95, 99):
            value = percentile(waits, q)
            add(_("wait p%(q)d (s)") % {"q": q}, round(value) if value is not None else "—")
        add(_("no-shows (admitted, pass never used)"), no_show)
        add(_("no-show ratio"), f"{no_show / admitted:.3f}" if admitted else "—")
        add(_("orders paid through the room"), int(last.get("completed", 0)))
        add(_("still waiting at the end (never admitted)"), max(waiting[-1], 0))
    else:
        add(_("queue snapshots"), _("none in the window (no waiting room, or it never ran)"))
    add(_("holds"), holds["all"])
    add(_("holds abandoned (expired or released)"), holds["abandoned"])
    add(_("orders abandoned (expired or cancelled)"), orders["unpaid"])
    return Table(
        "queue", _("Queue statistics"), [("metric", _("metric")), ("value", _("value"))], rows
    )


def payment_stats(event: Event, start: datetime, end: datetime) -> Table:
    payments = Payment.objects.filter(order__event=event)
    rows: list[dict[str, Any]] = []

    def add(group: Any, item: Any, count: int, amount: Decimal | str = "") -> None:
        rows.append({"group": group, "item": item, "count": count, "amount": amount})

    by_status = (
        payments.values("status").annotate(n=Count("id"), amount=Sum("amount")).order_by("status")
    )
    labels = dict(Payment.Status.choices)
    for r in by_status:
        add(_("status"), labels.get(r["status"], r["status"]), r["n"], r["amount"] or ZERO)
    declined = (
        payments.filter(status=Payment.Status.FAILED)
        .values("failure_reason")
        .annotate(n=Count("id"), amount=Sum("amount"))
        .order_by("-n", "failure_reason")
    )
    for r in declined:
        add(_("declined, by reason"), r["failure_reason"] or "—", r["n"], r["amount"] or ZERO)
    brands = (
        payments.filter(
            status__in=[
                Payment.Status.SUCCEEDED,
                Payment.Status.REFUNDED,
                Payment.Status.REFUND_PENDING,
            ]
        )
        .values("card_brand")
        .annotate(n=Count("id"), amount=Sum("amount"))
        .order_by("-n", "card_brand")
    )
    for r in brands:
        add(_("accepted, by card brand"), r["card_brand"] or "—", r["n"], r["amount"] or ZERO)
    three_ds = RequestMinute.objects.filter(minute__gte=start, minute__lt=end, view=THREE_DS_VIEW)
    shown = three_ds.filter(method="GET", status="2xx").aggregate(n=Sum("n"))["n"] or 0
    answered = three_ds.filter(method="POST").aggregate(n=Sum("n"))["n"] or 0
    add(_("3-D Secure"), _("challenges shown"), shown)
    add(_("3-D Secure"), _("codes submitted"), answered)
    grace = timezone.now() - timedelta(seconds=settings.PAYMENT_RECONCILE_GRACE_SECONDS)
    unsettled = payments.filter(status=Payment.Status.CREATED, created_at__lt=grace).aggregate(
        n=Count("id"), amount=Sum("amount")
    )
    add(
        _("settlement"),
        _("unsettled past the grace period"),
        unsettled["n"],
        unsettled["amount"] or ZERO,
    )
    ids = payments.annotate(sid=Cast("id", CharField())).values("sid")
    reconciled = AuditEntry.objects.filter(
        action=AuditAction.PAYMENT_RECONCILED, object_id__in=ids
    ).count()
    add(_("settlement"), _("settled late, by reconciliation"), reconciled)
    columns = [("group", _("group")), ("item", _("item")), ("count", _("count")),
               ("amount", _("amount"))]  # fmt: skip
    return Table("payments", _("Payment statistics"), columns, rows, money={"amount"})


def error_causes(event: Event, start: datetime, end: datetime, limit: int = 25) -> Table:
    """The biggest causes of 4xx and 5xx answers in the window, site-wide
    (most requests carry no event in their URL) with the event's own first."""
    rows = list(
        RequestMinute.objects.filter(minute__gte=start, minute__lt=end)
        .filter(Q(status__in=["4xx", "5xx"]) | ~Q(cause=""))
        .filter(Q(event=event.slug) | Q(event=""))
        .values("status", "view", "method", "cause")
        .annotate(n=Sum("n"))
        .order_by("-n", "status", "view")[:limit]
    )
    for r in rows:
        r["cause"] = r["cause"] or "—"
    columns = [("status", _("status")), ("view", _("view")), ("method", _("method")),
               ("cause", _("cause")), ("n", _("requests"))]  # fmt: skip
    return Table("errors", _("Biggest error causes"), columns, rows)


def staff_audit(event: Event, start: datetime, end: datetime, limit: int = 1000) -> Table:
    """What staff did during the sale (entries with a staff user), oldest first."""
    entries = (
        AuditEntry.objects.filter(
            created_at__gte=start, created_at__lt=end, actor_user__isnull=False
        )
        .select_related("actor_user")
        .order_by("created_at", "id")[:limit]
    )
    rows = [
        {
            "time": e.created_at,
            "actor": e.actor_user.get_username() if e.actor_user else e.actor,
            "action": e.action,
            "object": f"{e.object_type}:{e.object_id}",
            "data": e.data,
        }
        for e in entries
    ]
    columns = [("time", _("time")), ("actor", _("staff")), ("action", _("action")),
               ("object", _("object")), ("data", _("change"))]  # fmt: skip
    return Table("audit", _("Staff actions during the sale"), columns, rows)


def sale_report(
    *, event: Event, start: datetime | None = None, end: datetime | None = None
) -> Report:
    """Every table of the post-sale report of `event` (window: sale_window)."""
    default_start, default_end = sale_window(event)
    start, end = start or default_start, end or default_end
    snaps = Snapshots.load(_room(event), start, end)
    tables = [
        timeline(event, start, end, snaps),
        by_tier(event),
        by_section(event),
        by_channel(event),
        by_phase(event),
        queue_stats(event, snaps, start, end),
        payment_stats(event, start, end),
        error_causes(event, start, end),
        staff_audit(event, start, end),
    ]
    return Report(event=event, start=start, end=end, tables=tables)


def event_zone(event: Event) -> ZoneInfo:
    return ZoneInfo(event.time_zone)


_CHECKS = {
    # Each total of the report, and the same figure straight from the tables.
    "orders": ("timeline", "orders", "SELECT count(*) FROM orders_order WHERE event_id = %s"),
    "paid": (
        "timeline",
        "paid",
        "SELECT count(*) FROM orders_order WHERE event_id = %s AND paid_at IS NOT NULL",
    ),
    "tickets": ("timeline", "tickets", "SELECT count(*) FROM orders_ticket WHERE event_id = %s"),
    "revenue": (
        "timeline",
        "revenue",
        "SELECT coalesce(sum(total), 0) FROM orders_order"
        " WHERE event_id = %s AND paid_at IS NOT NULL",
    ),
    "refunded": (
        "timeline",
        "refunded",
        "SELECT coalesce(sum(p.amount), 0) FROM orders_payment p"
        " JOIN orders_order o ON o.id = p.order_id WHERE o.event_id = %s AND p.status = 'refunded'",
    ),
    "tickets_valid": (
        "by_tier",
        "net_tickets",
        "SELECT count(*) FROM orders_ticket WHERE event_id = %s AND status IN ('valid', 'used')",
    ),
    "net_revenue": (
        "by_tier",
        "net_revenue",
        "SELECT coalesce(sum(price), 0) FROM orders_ticket"
        " WHERE event_id = %s AND status IN ('valid', 'used')",
    ),
}


def report_totals_check(report: Report) -> list[tuple[str, Any, Any]]:
    """Every checked total as (name, in the report, in the database), by plain
    SQL independent of the report's queries. Equal for any report whose window
    holds the whole sale (the default)."""
    from django.db import connection

    out = []
    with connection.cursor() as cursor:
        for name, (table, key, sql) in _CHECKS.items():
            cursor.execute(sql, [report.event.pk])
            out.append((name, (report.table(table).totals or {}).get(key), cursor.fetchone()[0]))
    return out
