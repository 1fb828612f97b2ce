"""The post-sale report on a sale made through the real services and pages:
its totals equal the database's sums, and `manage.py sale_report` writes the
same tables as CSV, the chart and a PDF."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from events.models import EventSeat
from orders.models import Order, Ticket
from orders.services.holds import hold_create
from orders.services.orders import order_create
from orders.tests.conftest_payments import gateway_outbox  # noqa: F401 - a fixture
from orders.tests.factories import make_event, pay_with_card, post_callback, seat_ids, web_buyer
from payments.models import Payment
from payments.services import order_refund, payment_start
from sales import rollup
from sales.export import table_csv
from sales.selectors import sale_report
from ticketing.models import AuditEntry

SUCCEEDS = "4400 4300 0000 0001"
DECLINED = "4000 0000 0000 0002"
CONTACT = {"email": "a@example.kz", "name": "Aigerim"}


@pytest.fixture
def staff(db):
    return get_user_model().objects.create_user("boss", password="x", is_staff=True)


def _buy(client, outbox, capture, event, name, *, card=SUCCEEDS, **requested):
    """Hold, order, pay at the gateway's card form, deliver its callback."""
    buyer = web_buyer(name)
    with capture(execute=True):
        hold = hold_create(event=event, buyer=buyer, **requested)
        order = order_create(hold=hold, buyer=buyer, **CONTACT)
        payment, _url = payment_start(order=order)
    before = len(outbox)
    with capture(execute=True):
        pay_with_card(client, payment, card)
    for body, _countdown in outbox[before:]:
        with capture(execute=True):
            post_callback(client, body)
    order.refresh_from_db()
    return order


@pytest.fixture
def sale(client, gateway_outbox, staff, django_capture_on_commit_callbacks):  # noqa: F811
    """Four paid orders (seats of two tiers, standing places), one declined
    card, one hold left without an order, one paid order refunded by staff."""
    event = make_event()
    seats = seat_ids(event)
    buy = lambda name, **kw: _buy(  # noqa: E731
        client, gateway_outbox, django_capture_on_commit_callbacks, event, name, **kw
    )
    vip = buy("a", seats=seats[:2])  # row 1: VIP
    buy("b", seats=seats[12:15])  # Standard
    section = event.standing_areas.first().section_id
    buy("c", standing={"section": section, "quantity": 4})
    buy("d", best_available={"quantity": 2})
    buy("e", card=DECLINED, seats=seats[20:21])
    hold_create(event=event, buyer=web_buyer("f"), seats=seats[30:31])
    with django_capture_on_commit_callbacks(execute=True):
        order_refund(order=vip, actor_user=staff)
    for body in gateway_outbox.bodies("refunded"):  # the gateway confirms the refund
        with django_capture_on_commit_callbacks(execute=True):
            post_callback(client, body)
    return event


def test_report_totals_equal_the_database(sale, client):
    event = sale
    # 4xx for the error table: this event has no waiting room; another event's
    # errors are not this sale's.
    assert client.get(f"/api/v1/events/{event.slug}/queue/state/").status_code == 404
    client.get("/api/v1/events/another-event/queue/state/")
    rollup.flush()
    report = sale_report(event=event)

    tickets = Ticket.objects.filter(event=event)
    paid_orders = Order.objects.filter(event=event, paid_at__isnull=False)
    refunded = Payment.objects.filter(order__event=event, status=Payment.Status.REFUNDED)
    assert paid_orders.count() == 4 and tickets.count() == 11  # the sale is what we think
    assert refunded.count() == 1

    timeline = report.table("timeline").totals
    assert timeline["orders"] == Order.objects.filter(event=event).count() == 5
    assert timeline["paid"] == 4
    assert timeline["tickets"] == tickets.count()
    assert timeline["revenue"] == paid_orders.aggregate(s=Sum("total"))["s"]
    assert timeline["refunds"] == 1
    assert timeline["refunded"] == refunded.aggregate(s=Sum("amount"))["s"] == Decimal("50000.00")
    assert timeline["holds"] == 6

    valid = tickets.filter(status__in=["valid", "used"])
    for name in ("by_tier", "by_section", "by_channel", "by_phase"):
        totals = report.table(name).totals
        assert totals["tickets"] == tickets.count(), name
        assert totals["revenue"] == tickets.aggregate(s=Sum("price"))["s"], name
        assert totals["net_tickets"] == valid.count() == 9, name
        assert totals["net_revenue"] == valid.aggregate(s=Sum("price"))["s"], name
        assert totals["refunded"] == 2, name
    tiers = {r["key"]: r for r in report.table("by_tier").rows}
    # Everything not sold is left, but the seats of the hold left alone and of
    # the order whose card was declined (its hold runs until it expires).
    held = EventSeat.objects.filter(event=event, status="held", held_until__gt=timezone.now())
    assert held.count() == 2
    assert sum(r["left"] for r in tiers.values()) + valid.count() + held.count() == sum(
        r["capacity"] for r in tiers.values()
    )

    payments = report.table("payments").rows
    declined = [r for r in payments if r["group"] == _("declined, by reason")]
    assert [(r["count"], r["amount"]) for r in declined] == [(1, Decimal("10000.50"))]
    errors = report.table("errors").rows
    assert [(r["view"], r["cause"], r["n"]) for r in errors if r["status"] == "4xx"] == [
        ("queue-state", "queue_not_found", 1)
    ]
    audit = report.table("audit").rows
    assert {r["action"] for r in audit} >= {"order.refunded", "payment.refund_requested"}
    assert all(r["actor"] == "boss" for r in audit)
    assert AuditEntry.objects.filter(actor_user__isnull=False).count() == len(audit)


def test_sale_report_command_writes_the_csvs_and_the_pdf(sale, tmp_path):
    out = io.StringIO()
    call_command(
        "sale_report", sale.slug, out=str(tmp_path / "r"), language="en", check=True, stdout=out
    )
    names = sorted(p.name for p in (tmp_path / "r").iterdir())
    assert names == sorted(
        ["timeline.csv", "by_tier.csv", "by_section.csv", "by_channel.csv", "by_phase.csv",
         "queue.csv", "payments.csv", "errors.csv", "audit.csv", "timeline.svg", "report.pdf"]
    )  # fmt: skip
    pdf = (tmp_path / "r" / "report.pdf").read_bytes()
    assert pdf.startswith(b"%PDF") and pdf.count(b"/Type /Page\n") + pdf.count(b"/Type /Page ") > 5
    rows = list(
        csv.DictReader((tmp_path / "r" / "by_tier.csv").read_text("utf-8-sig").splitlines())
    )
    total = rows[-1]
    valid = Ticket.objects.filter(event=sale, status="valid")
    assert int(total["tickets valid"]) == valid.count()
    assert Decimal(total["net revenue"]) == valid.aggregate(s=Sum("price"))["s"]
    timeline = list(
        csv.DictReader((tmp_path / "r" / "timeline.csv").read_text("utf-8-sig").splitlines())
    )
    assert sum(int(r["tickets"]) for r in timeline[:-1]) == int(timeline[-1]["tickets"]) == 11
    assert "tickets 11" in out.getvalue() and "refunds 1 (50000.00 KZT)" in out.getvalue()
    assert "check tickets: report 11, database 11" in out.getvalue()
    assert "DIFFERENT" not in out.getvalue()


def test_the_check_fails_when_a_total_differs(sale, tmp_path, monkeypatch):
    from sales import selectors

    real = selectors.by_tier

    def short_by_one(event):
        table = real(event)
        table.totals["net_tickets"] -= 1
        return table

    monkeypatch.setattr(selectors, "by_tier", short_by_one)
    out = io.StringIO()
    with pytest.raises(CommandError, match="differ"):
        call_command("sale_report", sale.slug, out=str(tmp_path), check=True, stdout=out)
    assert "check tickets_valid: report 8, database 9  DIFFERENT" in out.getvalue()


def test_csv_times_are_in_the_event_time_zone(sale):
    report = sale_report(event=sale)
    first = report.table("timeline").rows[0]["minute"]
    text = table_csv(report, report.table("timeline"))
    local = first.astimezone(__import__("zoneinfo").ZoneInfo(sale.time_zone))
    assert local.strftime("%Y-%m-%d %H:%M") in text.splitlines()[1]


def test_an_unknown_event_is_a_clear_error(db):
    with pytest.raises(CommandError, match="no event 'nope'"):
        call_command("sale_report", "nope")


def test_the_files_are_in_the_language_asked_for(sale, tmp_path):
    call_command(
        "sale_report", str(sale.pk), out=str(tmp_path), language="kk", stdout=io.StringIO()
    )
    header = (tmp_path / "by_tier.csv").read_text("utf-8-sig").splitlines()[0]
    assert header.startswith("санат,баға,")
