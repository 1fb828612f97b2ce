"""Reads of orders for their buyers' payment pages and API (the access rule is
orders.selectors.order_readable_by)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Count, Sum

from api.models import Partner
from events.models import Event
from events.selectors import sale_snapshot
from orders.api.holds import hold_items
from orders.models import Hold, Order, Ticket
from orders.selectors import TICKET_PLACE
from orders.ticket_types import items_typed
from payments.models import Payment, Refund

ON_ACCOUNT = "on_account"


def order_tickets(order: Order):
    return order.tickets.select_related(*TICKET_PLACE).order_by("id")


def order_places(order: Order) -> list[dict]:
    """What an unpaid order is for: its hold's seats or standing places (section,
    row, seat or quantity, tier, price), listed where the buyer pays. Tickets,
    and so the order page's own list, exist only once it is paid."""
    if order.status != Order.Status.PENDING_PAYMENT:
        return []
    items = hold_items(order.hold)
    if not order.seat_types:
        return items
    # The types the buyer chose at checkout, at their prices (orders/ticket_types.py).
    return items_typed(items, sale=sale_snapshot(order.event_id), seat_types=order.seat_types)


def order_refunded_amount(order: Order) -> Decimal:
    """What staff refunds gave back of this order so far (Refund rows)."""
    return sum(order.refunds.values_list("amount", flat=True), Decimal("0"))


def order_last_payment(order: Order) -> Payment | None:
    return order.payments.order_by("-created_at").first()


def ticket_for_order(order: Order, code: str) -> Ticket | None:
    return order.tickets.filter(code=code).first()


@dataclass(frozen=True)
class SettlementOrder:
    """An order the partner's on-account payment paid that day."""

    order_id: int
    order_code: str
    paid_at: datetime
    tickets: int
    amount: Decimal
    currency: str
    reference: str  # the partner's own transaction id
    payment_id: str


@dataclass(frozen=True)
class SettlementRefund:
    """A refund of such an order made that day: money the partner owes back."""

    refund_id: int
    order_id: int
    order_code: str
    at: datetime
    tickets: int
    amount: Decimal
    currency: str
    whole: bool
    status: str


@dataclass(frozen=True)
class SettlementTotals:
    currency: str
    orders: int = 0
    tickets: int = 0
    gross: Decimal = Decimal("0.00")
    refunds: int = 0
    refunded_tickets: int = 0
    refunded: Decimal = Decimal("0.00")

    @property
    def net(self) -> Decimal:
        return self.gross - self.refunded


@dataclass(frozen=True)
class SettlementReport:
    partner: Partner
    day: date
    time_zone: str
    starts_at: datetime
    ends_at: datetime
    orders: list[SettlementOrder] = field(default_factory=list)
    refunds: list[SettlementRefund] = field(default_factory=list)
    totals: list[SettlementTotals] = field(default_factory=list)  # one per currency


def settlement_day_bounds(day: date) -> tuple[datetime, datetime, str]:
    """The day's [start, end) in the site's time zone (settings.TIME_ZONE:
    partners settle by the site's calendar day), and the zone's name."""
    zone = ZoneInfo(settings.TIME_ZONE)
    starts = datetime.combine(day, time.min, tzinfo=zone)
    ends = datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone)
    return starts, ends, settings.TIME_ZONE


def settlement_report(*, partner: Partner, day: date) -> SettlementReport:
    """The partner's on-account settlement of one day (site time zone).

    Lines: each order its on-account payment sold whose `paid_at` is in the
    day (amount = the payment's; tickets = every ticket it issued, refunded
    ones included: their refund is a line of its own, the day it is made),
    and each refund (Refund row) of such an order made in the day, whatever
    day the order was paid. Totals per currency: orders, tickets, gross,
    refunds, refunded tickets and amount, net = gross - refunded. A payment
    confirmed for an order that could no longer be sold is not a line: it
    was given back at once (no money is owed either way).
    """
    starts, ends, zone = settlement_day_bounds(day)
    payments = (
        Payment.objects.filter(
            provider=ON_ACCOUNT,
            order__partner=partner,
            order__paid_at__gte=starts,
            order__paid_at__lt=ends,
        )
        .exclude(provider_ref="")
        .select_related("order")
        .annotate(ticket_count=Count("order__tickets"))
        .order_by("order__paid_at", "order_id")
    )
    orders = [
        SettlementOrder(
            order_id=p.order_id,
            order_code=p.order.code,
            paid_at=p.order.paid_at,
            tickets=p.ticket_count,
            amount=p.amount,
            currency=p.currency,
            reference=p.provider_ref,
            payment_id=str(p.pk),
        )
        for p in payments
    ]
    refund_rows = (
        Refund.objects.filter(
            payment__provider=ON_ACCOUNT,
            order__partner=partner,
            created_at__gte=starts,
            created_at__lt=ends,
        )
        .select_related("order")
        .order_by("created_at", "id")
    )
    refunds = [
        SettlementRefund(
            refund_id=r.pk,
            order_id=r.order_id,
            order_code=r.order.code,
            at=r.created_at,
            tickets=len(r.ticket_ids),
            amount=r.amount,
            currency=r.currency,
            whole=r.whole,
            status=r.status,
        )
        for r in refund_rows
    ]
    sums: dict[str, dict] = {}
    for line in orders:
        t = sums.setdefault(line.currency, {"currency": line.currency})
        t["orders"] = t.get("orders", 0) + 1
        t["tickets"] = t.get("tickets", 0) + line.tickets
        t["gross"] = t.get("gross", Decimal("0.00")) + line.amount
    for line in refunds:
        t = sums.setdefault(line.currency, {"currency": line.currency})
        t["refunds"] = t.get("refunds", 0) + 1
        t["refunded_tickets"] = t.get("refunded_tickets", 0) + line.tickets
        t["refunded"] = t.get("refunded", Decimal("0.00")) + line.amount
    totals = [SettlementTotals(**sums[c]) for c in sorted(sums)]
    return SettlementReport(
        partner=partner,
        day=day,
        time_zone=zone,
        starts_at=starts,
        ends_at=ends,
        orders=orders,
        refunds=refunds,
        totals=totals,
    )


SETTLEMENT_CSV_HEADER = [
    "line", "id", "order", "at", "tickets", "amount", "currency", "reference", "status",
]  # fmt: skip


def _csv_text(value: str) -> str:
    """A partner's free text in a cell a spreadsheet must not run as a formula."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def settlement_csv_rows(report: SettlementReport) -> list[list[str]]:
    """The report as CSV rows: a header, an `order` row per order, a `refund`
    row per refund (negative amount), then a `total` row per currency whose
    amount is the net (and `gross`/`refunded` rows), times in ISO 8601 with
    the site's offset. A reference a spreadsheet would read as a formula
    (`=`, `+`, `-`, `@`) is quoted with a leading apostrophe."""
    zone = ZoneInfo(report.time_zone)
    rows = [SETTLEMENT_CSV_HEADER]
    for o in report.orders:
        rows.append(["order", o.payment_id, o.order_code, o.paid_at.astimezone(zone).isoformat(),
                     str(o.tickets), str(o.amount), o.currency, _csv_text(o.reference),
                     "paid"])  # fmt: skip
    for r in report.refunds:
        rows.append(["refund", str(r.refund_id), r.order_code, r.at.astimezone(zone).isoformat(),
                     str(r.tickets), str(-r.amount), r.currency, "", r.status])  # fmt: skip
    for t in report.totals:
        rows.append(["gross", "", str(t.orders), "", str(t.tickets), str(t.gross), t.currency,
                     "", ""])  # fmt: skip
        rows.append(["refunded", "", str(t.refunds), "", str(t.refunded_tickets),
                     str(-t.refunded), t.currency, "", ""])  # fmt: skip
        rows.append(["net", "", "", "", str(t.tickets - t.refunded_tickets), str(t.net),
                     t.currency, "", ""])  # fmt: skip
    return rows


@dataclass(frozen=True)
class CancelPreview:
    """What cancelling an event does (the staff's confirmation page, the
    cancellation's audit entry): orders refunded and how much, orders
    cancelled unpaid, holds released."""

    paid_orders: int
    tickets: int
    refund_amount: Decimal
    currency: str
    pending_orders: int
    active_holds: int


def event_cancel_preview(*, event: Event) -> CancelPreview:
    """Counts for `event_cancel` as of now: paid orders with their valid or
    used tickets and what is left of their payments (paid minus refunded
    before), unpaid orders, and holds not ordered yet."""
    paid = Order.objects.filter(event=event, status=Order.Status.PAID)
    taken = Payment.objects.filter(order__in=paid, status=Payment.Status.SUCCEEDED).aggregate(
        s=Sum("amount")
    )["s"] or Decimal("0")
    given_back = Refund.objects.filter(order__in=paid).aggregate(s=Sum("amount"))["s"] or Decimal(
        "0"
    )
    return CancelPreview(
        paid_orders=paid.count(),
        tickets=Ticket.objects.filter(order__in=paid).exclude(status=Ticket.Status.VOID).count(),
        refund_amount=taken - given_back,
        currency=event.currency,
        pending_orders=Order.objects.filter(
            event=event, status=Order.Status.PENDING_PAYMENT
        ).count(),
        active_holds=Hold.objects.filter(event=event, status=Hold.Status.ACTIVE).count(),
    )
