"""`manage.py sale_report <event slug or id> [--out DIR]`: the post-sale
report's files, the same the staff pages download (sales.export)."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import translation

from events.models import Event
from sales.export import write_report
from sales.selectors import report_totals_check, sale_report


class Command(BaseCommand):
    help = "Write the post-sale report of an event: one CSV per table, the chart and a PDF."

    def add_arguments(self, parser):
        parser.add_argument("event", help="the event's slug or id")
        parser.add_argument("--out", default="", help="directory (default: sale-report-<slug>)")
        parser.add_argument("--language", default="", help="ru, kk or en (default: LANGUAGE_CODE)")
        parser.add_argument(
            "--check",
            action="store_true",
            help="compare the totals with the database's own sums; exit 1 if one differs",
        )

    def handle(self, *args, event: str, out: str, language: str, check: bool, **options):
        language = language or settings.LANGUAGE_CODE
        if language not in dict(settings.LANGUAGES):
            raise CommandError(f"--language must be one of {', '.join(dict(settings.LANGUAGES))}")
        with translation.override(language):
            report = self._write(event, out)
        if check:
            differ = False
            for name, in_report, in_db in report_totals_check(report):
                same = in_report == in_db
                differ = differ or not same
                self.stdout.write(f"check {name}: report {in_report}, database {in_db}"
                                  + ("" if same else "  DIFFERENT"))  # fmt: skip
            if differ:
                raise CommandError("the report's totals differ from the database's")

    def _write(self, event: str, out: str):
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
        return report
