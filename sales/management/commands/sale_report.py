"""`manage.py sale_report <event slug or id> [--out DIR]`: the post-sale
report's files, the same the staff pages download (sales.export)."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import translation

from events.models import Event
from sales.export import write_report
from sales.selectors import sale_report


class Command(BaseCommand):
    help = "Write the post-sale report of an event: one CSV per table, the chart and a PDF."

    def add_arguments(self, parser):
        parser.add_argument("event", help="the event's slug or id")
        parser.add_argument("--out", default="", help="directory (default: sale-report-<slug>)")
        parser.add_argument("--language", default="", help="ru, kk or en (default: LANGUAGE_CODE)")

    def handle(self, *args, event: str, out: str, language: str, **options):
        language = language or settings.LANGUAGE_CODE
        if language not in dict(settings.LANGUAGES):
            raise CommandError(f"--language must be one of {', '.join(dict(settings.LANGUAGES))}")
        with translation.override(language):
            self._write(event, out)

    def _write(self, event: str, out: str) -> None:
        lookup = {"pk": int(event)} if event.isdigit() else {"slug": event}
        found = Event.objects.filter(**lookup).first()
        if found is None:
            raise CommandError(f"no event {event!r} (give its slug or id)")
        report = sale_report(event=found)
        directory = Path(out or f"sale-report-{found.slug}")
        for path in write_report(report, directory):
            self.stdout.write(str(path))
        timeline = report.table("timeline").totals or {}
        tiers = report.table("by_tier").totals or {}
        self.stdout.write(
            "window {start} .. {end} UTC; orders {orders}, paid {paid}, tickets {tickets}, "
            "revenue {revenue} {currency}, refunds {refunds} ({refunded} {currency}), "
            "tickets valid {valid}, net revenue {net} {currency}, 5xx {errors}".format(
                start=report.start.strftime("%Y-%m-%d %H:%M"),
                end=report.end.strftime("%Y-%m-%d %H:%M"),
                orders=timeline.get("orders"),
                paid=timeline.get("paid"),
                tickets=timeline.get("tickets"),
                revenue=timeline.get("revenue"),
                refunds=timeline.get("refunds"),
                refunded=timeline.get("refunded"),
                valid=tiers.get("net_tickets"),
                net=tiers.get("net_revenue"),
                errors=timeline.get("errors"),
                currency=found.currency,
            )
        )
