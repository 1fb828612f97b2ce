"""The report's files: one CSV per table, the charts (SVG/PNG) and one PDF.

CSV: the csv module, UTF-8 with a BOM (spreadsheets then read Cyrillic
right), money as plain Decimal strings in the event's currency, times in
the event's time zone. PDF and charts: matplotlib (its own Agg/PDF/SVG
backends, no browser, no display), with DejaVu Sans, which has Cyrillic and
Kazakh letters.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.utils import formats
from django.utils.translation import gettext as _

from sales.selectors import Report, Table, event_zone
from ticketing.money import money_format, money_plain


def cell_text(value: Any, *, zone, money: bool = False, currency: str = "") -> str:
    """A value as the CSV writes it (plain numbers, local ISO-like times)."""
    if isinstance(value, datetime):
        return value.astimezone(zone).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, Decimal):
        return money_plain(value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def cell_display(value: Any, *, zone, money: bool, currency: str) -> str:
    """A value as a person reads it (pages and PDF): money formatted, times local."""
    if money and isinstance(value, Decimal):
        return money_format(value, currency)
    if isinstance(value, datetime):
        return formats.date_format(value.astimezone(zone), "Y-m-d H:i")
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}".replace(",", "\u00a0")
    return cell_text(value, zone=zone)


def tables_display(report: Report) -> list[dict[str, Any]]:
    """Every table as the report page shows it: header labels and display rows."""
    zone, currency = event_zone(report.event), report.event.currency
    out = []
    for table in report.tables:
        rows = [*table.rows, table.totals] if table.totals else table.rows
        out.append(
            {
                "table": table,
                "header": [label for _key, label in table.columns],
                "rows": [
                    [
                        cell_display(row.get(key, ""), zone=zone, money=key in table.money,
                                     currency=currency)
                        for key, _label in table.columns
                    ]
                    for row in rows
                ],
            }
        )  # fmt: skip
    return out


def table_csv(report: Report, table: Table) -> str:
    zone = event_zone(report.event)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([str(label) for _key, label in table.columns])
    rows = [*table.rows, table.totals] if table.totals else table.rows
    for row in rows:
        writer.writerow([cell_text(row.get(key, ""), zone=zone) for key, _label in table.columns])
    return "\ufeff" + out.getvalue()


# --- charts -----------------------------------------------------------------


def _figure(report: Report, *, width: float = 10, height: float = 6.2):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.dates as mdates
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter

    zone = event_zone(report.event)
    rows = report.table("timeline").rows
    times = [r["minute"].astimezone(zone) for r in rows]
    fig = Figure(figsize=(width, height), layout="constrained")
    top, middle, bottom = fig.subplots(3, 1, sharex=True)
    top.plot(times, [r["waiting"] or 0 for r in rows], label=_("waiting"), color="#d7263d")
    top.plot(times, [r["admitted"] for r in rows], label=_("admitted / min"), color="#1a7f37")
    top.plot(times, [r["joined"] for r in rows], label=_("joined / min"), color="#2f6fdf")
    top.set_ylabel(_("visitors"))
    top.set_title(_("Queue"), loc="left")
    middle.plot(times, [r["holds"] for r in rows], label=_("holds / min"), color="#9a6700")
    middle.plot(times, [r["paid"] for r in rows], label=_("paid orders / min"), color="#1a7f37")
    middle.plot(times, [r["tickets"] for r in rows], label=_("tickets / min"), color="#2f6fdf")
    middle.plot(times, [r["errors"] for r in rows], label=_("errors (5xx) / min"), color="#d7263d")
    middle.set_ylabel(_("per minute"))
    middle.set_title(_("Sales"), loc="left")
    revenue, total = [], Decimal(0)
    for r in rows:
        total += r["revenue"] - r["refunded"]
        revenue.append(float(total))  # plotting only: the tables keep Decimal
    bottom.plot(times, revenue, label=_("net revenue, cumulative"), color="#6f42c1")
    bottom.set_ylabel(report.event.currency)
    bottom.set_title(_("Revenue"), loc="left")
    bottom.set_xlabel(_("time (%(zone)s)") % {"zone": report.event.time_zone})
    bottom.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:,.0f}".replace(",", " ")))
    span = max(len(rows), 1)
    step = next((s for s in (1, 2, 5, 10, 15, 30, 60, 120, 240, 720) if span / s <= 10), 1440)
    if step < 60:
        bottom.xaxis.set_major_locator(mdates.MinuteLocator(byminute=range(0, 60, step), tz=zone))
    else:
        bottom.xaxis.set_major_locator(mdates.HourLocator(interval=step // 60, tz=zone))
    bottom.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M", tz=zone))
    for ax in (top, middle, bottom):
        ax.grid(True, alpha=0.3)
        ax.legend(loc="upper left", fontsize=8)
        ax.set_ylim(bottom=0)
    return fig


def chart_svg(report: Report) -> bytes:
    out = io.BytesIO()
    _figure(report).savefig(out, format="svg")
    return out.getvalue()


# --- PDF --------------------------------------------------------------------

_ROWS_PER_PAGE = 34


def report_pdf(report: Report) -> bytes:
    """The whole report: a cover with the totals and the charts, then every table."""
    from matplotlib.backends.backend_pdf import PdfPages
    from matplotlib.figure import Figure

    zone = event_zone(report.event)
    out = io.BytesIO()
    with PdfPages(out, metadata={"Title": f"{report.event.title}: {_('post-sale report')}"}) as pdf:
        fig = _figure(report, width=8.27, height=11.69)  # A4 portrait
        fig.suptitle(
            "{}\n{} {} — {}".format(
                report.event.title,
                _("post-sale report"),
                cell_display(report.start, zone=zone, money=False, currency=""),
                cell_display(report.end, zone=zone, money=False, currency=""),
            ),
            fontsize=11,
        )
        pdf.savefig(fig)
        pdf.savefig(_summary_page(report))
        for table in report.tables:
            rows = [*table.rows, table.totals] if table.totals else list(table.rows)
            pages = [rows[i : i + _ROWS_PER_PAGE] for i in range(0, len(rows), _ROWS_PER_PAGE)]
            for number, chunk in enumerate(pages or [[]], start=1):
                fig = Figure(figsize=(11.69, 8.27))  # A4 landscape: wide tables
                ax = fig.add_subplot()
                ax.axis("off")
                title = str(table.title)
                if len(pages) > 1:
                    title += f" ({number}/{len(pages)})"
                ax.set_title(title, loc="left", fontsize=12)
                cells = [
                    [
                        cell_display(row.get(key, ""), zone=zone, money=key in table.money,
                                     currency=report.event.currency)[:60]
                        for key, _label in table.columns
                    ]
                    for row in chunk
                ]  # fmt: skip
                if cells:
                    grid = ax.table(
                        cellText=cells,
                        colLabels=[str(label) for _key, label in table.columns],
                        loc="upper left",
                        cellLoc="left",
                    )
                    grid.auto_set_font_size(False)
                    grid.set_fontsize(8)
                    grid.scale(1, 1.4)
                    grid.auto_set_column_width(list(range(len(table.columns))))
                else:
                    ax.text(0, 0.9, _("No rows."), fontsize=9)
                pdf.savefig(fig)
    return out.getvalue()


def summary(report: Report) -> list[tuple[str, str]]:
    """The headline figures (label, as shown): the PDF's second page."""
    zone, currency = event_zone(report.event), report.event.currency
    timeline = report.table("timeline").totals or {}
    tiers = report.table("by_tier").totals or {}
    queue = {str(r["metric"]): r["value"] for r in report.table("queue").rows}

    def show(value, money=False):
        return cell_display(value, zone=zone, money=money, currency=currency)

    rows = [
        (_("orders"), show(timeline.get("orders", 0))),
        (_("paid"), show(timeline.get("paid", 0))),
        (_("tickets issued"), show(timeline.get("tickets", 0))),
        (_("tickets valid"), show(tiers.get("net_tickets", 0))),
        (_("revenue"), show(timeline.get("revenue"), money=True)),
        (_("refunded"), show(timeline.get("refunded"), money=True)),
        (_("net revenue"), show(tiers.get("net_revenue"), money=True)),
        (_("refusals (4xx)"), show(timeline.get("refusals", 0))),
        (_("errors (5xx)"), show(timeline.get("errors", 0))),
    ]
    waits = [_("wait p%(q)d (s)") % {"q": q} for q in (50, 95)]
    for key in (_("peak waiting"), *waits, _("no-show ratio")):
        if str(key) in queue:
            rows.append((str(key), show(queue[str(key)])))
    return [(str(label), value) for label, value in rows]


def _summary_page(report: Report):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8.27, 11.69))
    ax = fig.add_subplot()
    ax.axis("off")
    ax.set_title(_("Summary"), loc="left", fontsize=14)
    grid = ax.table(cellText=summary(report), loc="upper left", cellLoc="left",
                    colWidths=[0.6, 0.4])  # fmt: skip
    grid.auto_set_font_size(False)
    grid.set_fontsize(11)
    grid.scale(1, 2)
    return fig


def write_report(report: Report, directory: Path) -> list[Path]:
    """Every table as <name>.csv, the chart as timeline.svg and report.pdf in `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for table in report.tables:
        path = directory / f"{table.name}.csv"
        path.write_text(table_csv(report, table), encoding="utf-8")
        written.append(path)
    chart = directory / "timeline.svg"
    chart.write_bytes(chart_svg(report))
    pdf = directory / "report.pdf"
    pdf.write_bytes(report_pdf(report))
    return [*written, chart, pdf]
