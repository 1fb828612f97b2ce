"""The on-sale console's data: one JSON document, polled every few seconds.

Bounded work per poll whatever the crowd: the queue's numbers from Redis
(queueing.selectors.room_live, two round trips), a dozen aggregate queries
over the last hour (indexed by event and time), and one reading of the
Prometheus registry whose difference with an earlier reading (kept in the
cache) gives the 5xx rate and p95 latency of the busiest views.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, Min, Q, Sum
from django.utils import timezone

from events.models import Event
from events.selectors import allocation_use
from orders.models import Hold, Order, Ticket
from payments.models import Payment
from queueing import selectors as queue_selectors
from queueing.models import WaitingRoom, WaitingRoomSnapshot
from sales import selectors
from sales.models import RequestMinute
from ticketing import metrics
from ticketing.models import OutboxMessage
from ticketing.money import money_plain

CHART_MINUTES = 60
HOLD_VIEWS = ("hold-create", "orders:hold_create_page")  # the API and the event page
# Views never "hot": staff pages, static files, the metrics scrape itself.
QUIET_VIEWS = ("<unresolved>", "metrics", "healthz", "readyz", "sales:console_data")
HOT_VIEWS = 6
_READINGS_KEPT = 40


def _queue(room: WaitingRoom | None, now: datetime) -> dict[str, Any] | None:
    if room is None:
        return None
    live = queue_selectors.room_live(room_id=room.pk)
    recent = list(
        WaitingRoomSnapshot.objects.filter(room=room, taken_at__gte=now - timedelta(minutes=30))
        .order_by("taken_at")
        .values_list("taken_at", "counters")
    )
    measured = None
    if len(recent) >= 2:
        # Admissions a minute over the last minute or so of snapshots.
        last_t, last_c = recent[-1]
        base = next(((t, c) for t, c in reversed(recent) if (last_t - t).total_seconds() >= 60),
                    recent[0])  # fmt: skip
        seconds = (last_t - base[0]).total_seconds()
        if seconds > 0:
            gained = int(last_c.get("admitted", 0)) - int(base[1].get("admitted", 0))
            measured = round(max(gained, 0) * 60 / seconds)
    snaps = selectors.Snapshots.load(room, now - timedelta(minutes=30), now + timedelta(minutes=1))
    waits = selectors.wait_seconds(snaps, since=now.timestamp() - 600)
    admitted = live["admitted"]
    median, p95 = selectors.percentile(waits, 50), selectors.percentile(waits, 95)
    return {
        **{k: v for k, v in live.items() if k != "series"},
        "rate_measured": measured,
        "rate_room": room.admission_rate_per_minute,
        "max_active_room": room.max_active_shoppers,
        "no_show_ratio": round(live["no_show"] / admitted, 3) if admitted else None,
        "wait_median_s": round(median) if median is not None else None,
        "wait_p95_s": round(p95) if p95 is not None else None,
        "series": live["series"],
    }


def _sales(event: Event, now: datetime) -> dict[str, Any]:
    start = (now - timedelta(minutes=CHART_MINUTES - 1)).replace(second=0, microsecond=0)
    end = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
    timeline = selectors.timeline(event, start, end, selectors.Snapshots([], [], [], []))
    rows = timeline.rows
    tiers = selectors.by_tier(event)
    minute_ago = now - timedelta(seconds=60)
    last = {
        "holds": Hold.objects.filter(event=event, created_at__gte=minute_ago).count(),
        "orders": Order.objects.filter(event=event, created_at__gte=minute_ago).count(),
        "paid": Order.objects.filter(event=event, paid_at__gte=minute_ago).count(),
        "tickets": Ticket.objects.filter(event=event, created_at__gte=minute_ago).count(),
    }
    return {
        "minutes": [int(r["minute"].timestamp()) for r in rows],
        "holds": [r["holds"] for r in rows],
        "orders": [r["orders"] for r in rows],
        "paid": [r["paid"] for r in rows],
        "tickets": [r["tickets"] for r in rows],
        "refusals": [r["refusals"] for r in rows],
        "errors": [r["errors"] for r in rows],
        "revenue": [money_plain(r["revenue"]) for r in rows],
        "per_minute": last,  # the last 60 seconds, not the minute on the clock
        "tiers": [
            {
                "name": r["key"],
                "price": money_plain(r["price"]),
                "sold": r["net_tickets"],
                "revenue": money_plain(r["net_revenue"]),
                "left": r["left"],
                "capacity": r["capacity"],
            }
            for r in tiers.rows
        ],
        "tickets_total": tiers.totals["net_tickets"],
        "revenue_total": money_plain(tiers.totals["net_revenue"]),
        "left_total": tiers.totals["left"],
    }


def _refusals(event: Event, now: datetime) -> list[dict[str, Any]]:
    """Refused holds by reason over the last 15 minutes (the request rollup)."""
    rows = (
        RequestMinute.objects.filter(minute__gte=now - timedelta(minutes=15), view__in=HOLD_VIEWS)
        .filter(Q(status="4xx") | ~Q(cause=""))
        .filter(Q(event=event.slug) | Q(event=""))
        .values("cause")
        .annotate(n=Sum("n"))
        .order_by("-n", "cause")[:12]
    )
    return [{"reason": r["cause"] or "—", "n": r["n"]} for r in rows]


def _payments(event: Event, now: datetime) -> dict[str, Any]:
    payments = Payment.objects.filter(order__event=event)
    accepted = (Payment.Status.SUCCEEDED, Payment.Status.REFUNDED, Payment.Status.REFUND_PENDING)
    grace = now - timedelta(seconds=settings.PAYMENT_RECONCILE_GRACE_SECONDS)
    totals = payments.aggregate(
        accepted=Count("id", filter=Q(status__in=accepted)),
        declined=Count("id", filter=Q(status=Payment.Status.FAILED)),
        pending=Count("id", filter=Q(status=Payment.Status.CREATED, created_at__gte=grace)),
        unsettled=Count("id", filter=Q(status=Payment.Status.CREATED, created_at__lt=grace)),
        refund_pending=Count("id", filter=Q(status=Payment.Status.REFUND_PENDING)),
    )
    reasons = (
        payments.filter(status=Payment.Status.FAILED)
        .values("failure_reason")
        .annotate(n=Count("id"))
        .order_by("-n")[:8]
    )
    three_ds = RequestMinute.objects.filter(
        minute__gte=now - timedelta(minutes=CHART_MINUTES), view=selectors.THREE_DS_VIEW
    )
    return {
        **totals,
        "declined_by_reason": [
            {"reason": r["failure_reason"] or "—", "n": r["n"]} for r in reasons
        ],
        "three_ds_shown": three_ds.filter(method="GET", status="2xx").aggregate(n=Sum("n"))["n"]
        or 0,
        "three_ds_submitted": three_ds.filter(method="POST").aggregate(n=Sum("n"))["n"] or 0,
    }


def _p95(buckets: list[tuple[float, float]]) -> float | None:
    total = buckets[-1][1] if buckets else 0
    if total <= 0:
        return None
    for le, count in buckets:
        if count >= 0.95 * total:
            return le
    return None


def _health(now: datetime, room: WaitingRoom | None, live: dict | None) -> dict[str, Any]:
    reading = metrics.request_latency_totals()
    t = time.time()
    readings = cache.get("sales:console:prom") or []
    readings = [r for r in readings if t - r[0] < 600][-_READINGS_KEPT:]
    base = next(
        (r for r in reversed(readings) if t - r[0] >= 60), readings[0] if readings else None
    )
    cache.set("sales:console:prom", [*readings, (t, reading)], 900)
    views = []
    if base is not None:
        window = t - base[0]
        for view, now_v in reading.items():
            if view in QUIET_VIEWS or view.startswith("admin:"):
                continue
            was = base[1].get(view, {"count": 0, "errors": 0, "buckets": []})
            count = now_v["count"] - was["count"]
            if count <= 0:
                continue
            old = dict(was["buckets"])
            delta = [(le, c - old.get(le, 0.0)) for le, c in now_v["buckets"]]
            p95 = _p95(delta)
            views.append(
                {
                    "view": view,
                    "rps": round(count / window, 2) if window else None,
                    "error_rate": round((now_v["errors"] - was["errors"]) / count, 4),
                    "p95_ms": None if p95 is None or p95 == float("inf") else round(p95 * 1000),
                    "p95_over": p95 == float("inf"),
                    "window_s": round(window),
                }
            )
        views.sort(key=lambda v: -v["rps"])
    outbox = OutboxMessage.objects.filter(done_at__isnull=True, due_at__isnull=False).aggregate(
        n=Count("id"), oldest=Min("due_at")
    )
    last_snapshot = None
    if room is not None:
        last = room.snapshots.order_by("-taken_at").values_list("taken_at", flat=True).first()
        last_snapshot = round((now - last).total_seconds()) if last else None
    last_tick = (live or {}).get("last_tick")
    oldest = outbox["oldest"]
    return {
        "views": views[:HOT_VIEWS],
        "tick_age_s": round(t - last_tick, 1) if last_tick else None,
        "snapshot_age_s": last_snapshot,
        "outbox_pending": outbox["n"],
        # Work past its due time: the worker is behind (or down) by this much.
        "outbox_late_s": max(round((now - oldest).total_seconds()), 0) if oldest else 0,
    }


def console_data(*, event: Event) -> dict[str, Any]:
    """Everything the console shows, JSON-ready (money as strings, times unix s)."""
    now = timezone.now()
    room = WaitingRoom.objects.filter(event=event).first()
    queue = _queue(room, now)
    return {
        "now": int(now.timestamp()),
        "generated_at": now.astimezone(UTC).isoformat(),
        "time_zone": event.time_zone,
        "currency": event.currency,
        "queue": queue,
        "sales": _sales(event, now),
        "refusals": _refusals(event, now),
        "payments": _payments(event, now),
        "health": _health(now, room, queue),
        "allocations": _allocations(event, now),
    }


def _allocations(event: Event, now: datetime) -> list[dict[str, Any]]:
    """Each allocation's seats sold / held / left, and whether it is released
    (one grouped query; none of it when the event has no allocation)."""
    return [
        {
            "id": use.allocation.pk,
            "name": use.allocation.name,
            "scope": use.allocation.channel or use.allocation.phase.name,
            "quantity": use.allocation.quantity,
            "sold": use.sold,
            "held": use.held,
            "left": use.left,
            "blocked": use.blocked,
            "released": use.allocation.is_released(now),
            "release_at": int(use.allocation.release_at.timestamp())
            if use.allocation.release_at
            else None,
        }
        for use in allocation_use(event=event)
    ]
