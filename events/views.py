"""Buyer pages of the catalogue: event list, event page with the stadium map, section view.

The hold form posts to /e/<slug>/hold/ (orders app); these pages only render it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from itertools import pairwise

from django.db.models import Min
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from events.cards import card_rule_words
from events.exceptions import EventNotFound, SectionNotFound
from events.models import Event, Production, Seat, Section, StandingArea
from events.selectors import (
    event_availability,
    event_detail,
    event_list_public,
    phase_status,
    section_of_event,
    section_seat_kinds,
    section_seats,
)
from ticketing.cookies import pass_cookie
from ticketing.money import money_format, money_shape

WEB_CHANNEL = "web"


def _event_or_404(slug: str):
    try:
        return event_detail(slug)
    except EventNotFound as exc:
        raise Http404(str(exc.message)) from exc


def _limit(status) -> int:
    return status.phase.per_buyer_limit if status.phase else 6


def _card_rule(status) -> str:
    """The open phase's card rule in the payment page's words ("" when any card will do).

    A presale for one bank's cards said so only at the gateway: the buyer chose
    seats and filled in the contact form before learning their card is refused.
    """
    phase = status.phase
    if status.state not in ("on_sale", "presale") or not phase:
        return ""
    if not (phase.card_brands or phase.card_bin_prefixes):
        return ""
    return card_rule_words(brands=phase.card_brands, bins=phase.card_bin_prefixes)


# Apps above events (which events may not import) add panels to the event
# page: each callable takes the event and returns a panel's context (with its
# "template") or None. cinema registers the showing's film (cinema/apps.py).
event_page_panels: list[Callable[[Event], dict | None]] = []


def event_list(request: HttpRequest) -> HttpResponse:
    # Film showings (hundreds a week) live on the film pages, not in this list.
    events = (
        event_list_public()
        .exclude(production__kind=Production.Kind.FILM)
        .annotate(min_price=Min("tiers__price"))[:100]
    )
    return render(request, "events/event_list.html", {"events": events})


def _whole_hall(event) -> Section | None:
    """A film showing's hall is one seated section: its page is the seat map
    itself, the whole hall at once (no "choose a section" step)."""
    if event.production_id is None or event.production.kind != Production.Kind.FILM:
        return None
    sections = list(Section.objects.filter(venue_id=event.venue_id)[:2])
    if len(sections) == 1 and sections[0].kind == Section.Kind.SEATED:
        return sections[0]
    return None


def event_page(request: HttpRequest, slug: str) -> HttpResponse:
    event = _event_or_404(slug)
    hall = _whole_hall(event)
    if hall is not None:
        return _section_render(request, event, hall, whole_hall=True)
    availability = event_availability(event=event, channel=WEB_CHANNEL)
    tiers = {t.pk: t for t in event.tiers.all()}
    sections = []
    for section in Section.objects.filter(venue_id=event.venue_id):
        counts = availability["sections"].get(section.pk, {"available": 0, "tiers": {}})
        main_tier = max(counts["tiers"], key=counts["tiers"].get, default=None)
        points = section.geometry.get("points") or []
        sections.append(
            {
                "section": section,
                "available": counts["available"],
                "min_price": counts.get("min_price"),
                "tier": tiers.get(main_tier),
                "points": " ".join(f"{x},{y}" for x, y in points),
                "label": section.geometry.get("label") or [0, 0],
            }
        )
    price_list = [
        {"tier": t, "available": availability["tiers"].get(t.pk, {}).get("available", 0)}
        for t in tiers.values()
    ]
    status = phase_status(event=event, channel=WEB_CHANNEL, available=availability["total"])
    stage = (event.venue.layout_spec.get("venue") or {}).get("stage")
    return render(
        request,
        "events/event_page.html",
        {
            "event": event,
            "venue": event.venue,
            "stage": stage,
            "view_box": _map_view_box(event.venue, sections, stage),
            "sections": sections,
            "price_list": price_list,
            "status": status,
            "card_rule": _card_rule(status),
            "panels": [panel for make in event_page_panels if (panel := make(event))],
            "quantities": range(1, _limit(status) + 1),
            "hold_url": f"/e/{event.slug}/hold/",
            # A guarded sale is bought through the waiting room; a visitor
            # who already holds a pass goes straight to the seats.
            "needs_queue": bool(
                status.can_buy
                and status.phase.requires_waiting_room
                and not request.COOKIES.get(pass_cookie(event.pk))
            ),
        },
    )


def _map_view_box(venue, sections: list[dict], stage: dict | None) -> str:
    """The map cropped to what is drawn (phones have no pixels to spare)."""
    points = [p for s in sections for p in s["section"].geometry.get("points") or []]
    if stage:
        points += [(stage["x"], stage["y"]), (stage["x"] + stage["w"], stage["y"] + stage["h"])]
    if not points:
        return f"0 0 {venue.map_width} {venue.map_height}"
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    pad = 0.02 * max(max(xs) - min(xs), max(ys) - min(ys), 1)
    left, top = min(xs) - pad, min(ys) - pad
    return f"{left:g} {top:g} {max(xs) + pad - left:g} {max(ys) + pad - top:g}"


# A seat's circle is this share of the distance to its neighbour in the row.
SEAT_FILL = 0.42


def _seat_radius(seats: list[list]) -> float:
    """Circle radius from the distance between neighbours in a row (0.42 of the spacing)."""
    for a, b in pairwise(seats):
        if a[1] == b[1]:
            return round(max(((a[3] - b[3]) ** 2 + (a[4] - b[4]) ** 2) ** 0.5, 0.2) * SEAT_FILL, 3)
    return 1.0


def _upright(rows: dict[str, list[dict]]) -> bool:
    """Turn the section's drawing so its rows run across the screen, front row on top.

    On the stadium map a sector is drawn at its angle around the field; seen
    alone, rows that run across read like a printed seating plan, and the
    arrow keys move along a row with Left/Right and between rows with Up/Down.
    Rewrites the seats' x and y in place (display only; stored seats keep the
    venue's coordinates). A section already upright is left as it is.
    Returns whether it turned the drawing.
    """
    longest = max(rows.values(), key=len, default=[])
    if len(longest) < 2:
        return False
    angle = math.atan2(longest[-1]["y"] - longest[0]["y"], longest[-1]["x"] - longest[0]["x"])
    ordered = list(rows.values())
    if len(ordered) > 1:
        # The front row above the back row once turned; else turn half a circle more.
        def mean_v(row: list[dict]) -> float:
            return sum(-s["x"] * math.sin(angle) + s["y"] * math.cos(angle) for s in row) / len(row)

        if mean_v(ordered[0]) > mean_v(ordered[-1]):
            angle += math.pi
    if abs(math.remainder(angle, 2 * math.pi)) < math.radians(1):
        return False
    cos, sin = math.cos(-angle), math.sin(-angle)
    for row in ordered:
        for seat in row:
            x, y = seat["x"], seat["y"]
            seat["x"], seat["y"] = round(x * cos - y * sin, 3), round(x * sin + y * cos, 3)
    return True


def _row_labels(rows: dict[str, list[dict]], pitch: float) -> list[dict]:
    """Where each row's label goes: one seat-step beyond both ends of the row.

    Following the row's own direction at each end keeps the labels beside the
    row on arcs and on rows that run up and down the map alike.
    """
    labels = []
    for row, row_seats in rows.items():
        ends = [(row_seats[0], row_seats[1] if len(row_seats) > 1 else None)]
        if len(row_seats) > 1:
            ends.append((row_seats[-1], row_seats[-2]))
        for end, inner in ends:
            # A row of one seat has no direction: its label goes to the left.
            dx, dy = (end["x"] - inner["x"], end["y"] - inner["y"]) if inner else (-1.0, 0.0)
            length = (dx * dx + dy * dy) ** 0.5 or 1.0
            labels.append(
                {
                    "row": row,
                    "x": round(end["x"] + dx / length * pitch * 1.3, 3),
                    "y": round(end["y"] + dy / length * pitch * 1.3, 3),
                }
            )
    return labels


def _seat_view_box(
    seats: list[dict], labels: list[dict], radius: float, pitch: float, screen: dict | None = None
) -> str:
    """The seats and their row labels (and a cinema's screen), with a small margin."""
    if not seats:
        return "0 0 10 10"
    xs = [s["x"] for s in seats] + [lb["x"] for lb in labels]
    ys = [s["y"] for s in seats] + [lb["y"] for lb in labels]
    if screen:
        xs += [screen["x"], screen["x"] + screen["w"]]
        ys += [screen["y"], screen["y"] + screen["h"]]
    pad = max(radius * 2, pitch * 0.9)  # half a two-digit label, and the focus ring
    left, top = min(xs) - pad, min(ys) - pad
    return f"{left:g} {top:g} {max(xs) + pad - left:g} {max(ys) + pad - top:g}"


def _section_legend(tiers: dict, seats: list[dict]) -> list[dict]:
    """The section's price tiers in the event's order, with the seats free in each."""
    free: dict[int, int] = {}
    for seat in seats:
        free.setdefault(seat["tier_id"], 0)
        if seat["status"] == "available":
            free[seat["tier_id"]] += 1
    return [{"tier": t, "available": free[pk]} for pk, t in tiers.items() if pk in free]


def section_page(request: HttpRequest, slug: str, section_id: int) -> HttpResponse:
    event = _event_or_404(slug)
    try:
        section = section_of_event(event=event, section_id=section_id)
    except SectionNotFound as exc:
        raise Http404(str(exc.message)) from exc
    return _section_render(request, event, section, whole_hall=_whole_hall(event) == section)


def _section_render(request: HttpRequest, event, section: Section, *, whole_hall: bool):
    """The section's page; `whole_hall`: a cinema showing's page, its hall with
    the screen at the top, reached straight from the event's address."""
    tiers = {t.pk: t for t in event.tiers.all()}
    status = phase_status(event=event, channel=WEB_CHANNEL)
    context = {
        "event": event,
        "section": section,
        "status": status,
        "card_rule": _card_rule(status),
        "limit": _limit(status),
        "quantities": range(1, _limit(status) + 1),
        "hold_url": f"/e/{event.slug}/hold/",
        "tiers": tiers,
        "whole_hall": whole_hall,
        # A showing's page is its hall: it carries the event page's panels (the film).
        "panels": [panel for make in event_page_panels if (panel := make(event))]
        if whole_hall
        else [],
    }
    if section.kind == Section.Kind.STANDING:
        area = StandingArea.objects.filter(event=event, section=section).first()
        context["area"] = area
        context["area_tier"] = tiers.get(area.tier_id) if area else None
        return render(request, "events/section_standing.html", context)
    seats = section_seats(event=event, section_id=section.pk, channel=WEB_CHANNEL)
    radius = _seat_radius(seats)
    pitch = radius / SEAT_FILL  # centre-to-centre distance of neighbours in a row
    # Labels are built here, not with {% blocktranslate %} per seat in the
    # template: a 1,000-seat section renders several times faster.
    tier_text = {
        pk: f" — {t.localized_name}, {money_format(t.price, event.currency)}"
        for pk, t in tiers.items()
    }
    seat_label = _("Row %(row)s, seat %(number)s")
    kinds = section_seat_kinds(event=event, section_id=section.pk)
    seat_dicts = [
        {"id": s[0], "row": s[1], "number": s[2], "x": s[3], "y": s[4], "tier_id": s[5],
         "status": s[6], "colour": tiers[s[5]].colour if s[5] in tiers else "#cccccc",
         "label": seat_label % {"row": s[1], "number": s[2]} + tier_text.get(s[5], ""),
         "kind": kinds.get(s[0], ("standard", None))[0], "pair": kinds.get(s[0], ("", None))[1]}
        for s in seats
    ]  # fmt: skip
    _pairs_together(seat_dicts)
    rows: dict[str, list] = {}
    for seat in seat_dicts:
        rows.setdefault(seat["row"], []).append(seat)
    turned = _upright(rows)
    row_labels = _row_labels(rows, pitch)
    screen = _screen(event) if whole_hall and not turned else None
    available = sum(1 for s in seat_dicts if s["status"] == "available")
    limit = _limit(status)
    context.update(
        {
            "seats": seat_dicts,
            "rows": rows.items(),
            "row_labels": row_labels,
            "radius": radius,
            "label_size": round(pitch * 0.7, 3),
            "focus_width": round(radius * 0.4, 3),
            "view_box": _seat_view_box(seat_dicts, row_labels, radius, pitch, screen),
            "screen": screen,
            "sofas": _sofas(seat_dicts, radius),
            "glyph_size": round(radius * 1.25, 3),
            "sofa_stroke": round(radius * 0.15, 3),
            "available": available,
            "legend": _section_legend(tiers, seat_dicts),
            "kind_legend": _kind_legend(seat_dicts),
            "seat_map_config": {
                "currency": event.currency,
                # How money_format writes this currency here (pattern, digit
                # marks): the map's total then reads like every other price.
                "money": money_shape(event.currency),
                "limit": limit,
                # Prices as decimal strings: the map adds them up in minor units.
                "prices": {str(pk): str(t.price) for pk, t in tiers.items()},
                "text": {
                    "row": _("Row %(row)s"),
                    "chosen": _("%(seat)s: chosen"),
                    "removed": _("%(seat)s: removed"),
                    "count": _("Chosen: %(count)s of %(limit)s"),
                    "total": _("Total"),
                    "remove": _("Remove %(seat)s"),
                    "none": _("Choose at least one seat first."),
                    "pair": _("%(seat)s and the seat beside it are sold together."),
                    "limit": ngettext(
                        "You can choose up to %(limit)s seat at once.",
                        "You can choose up to %(limit)s seats at once.",
                        limit,
                    )
                    % {"limit": limit},
                },
            },
        }
    )
    return render(request, "events/section_seated.html", context)


# What the map says of each seat kind (a cinema's halls; the stadium has none).
KIND_NOTES = {
    Seat.Kind.LOVE: gettext_lazy("a sofa for two: one tap takes both halves"),
    Seat.Kind.WHEELCHAIR: gettext_lazy("taken with its companion seat"),
    Seat.Kind.COMPANION: gettext_lazy("only with the wheelchair space beside it"),
}
# Drawn over the seat's circle (aria-hidden: the legend and the label say it).
KIND_GLYPHS = {Seat.Kind.WHEELCHAIR: "♿", Seat.Kind.COMPANION: "+", Seat.Kind.VIP: "★"}


def _pairs_together(seats: list[dict]) -> None:
    """A paired seat is on offer only while its pair is too (a love seat's
    other half, a wheelchair space's companion seat): otherwise it could only
    be refused (orders/holdkinds/pairs.py), so it is drawn taken."""
    status = {seat["id"]: seat["status"] for seat in seats}
    for seat in seats:
        seat["glyph"] = KIND_GLYPHS.get(seat["kind"], "")
        if seat["pair"] is not None and status.get(seat["pair"]) != "available":
            seat["status"] = "held" if seat["status"] == "available" else seat["status"]


def _sofas(seats: list[dict], radius: float) -> list[dict]:
    """One rounded rectangle round both halves of each love seat, along the row."""
    by_id = {seat["id"]: seat for seat in seats}
    sofas = []
    for a in seats:
        b = by_id.get(a["pair"]) if a["kind"] == Seat.Kind.LOVE else None
        if b is None or a["id"] > b["id"]:
            continue
        length = math.hypot(b["x"] - a["x"], b["y"] - a["y"]) + 2.4 * radius
        cx, cy = (a["x"] + b["x"]) / 2, (a["y"] + b["y"]) / 2
        sofas.append({
            "x": round(cx - length / 2, 3), "y": round(cy - 1.2 * radius, 3),
            "w": round(length, 3), "h": round(2.4 * radius, 3), "cx": round(cx, 3),
            "cy": round(cy, 3), "rx": round(radius * 0.9, 3),
            "angle": round(math.degrees(math.atan2(b["y"] - a["y"], b["x"] - a["x"])), 2),
            "taken": a["status"] != "available",
        })  # fmt: skip
    return sofas


def _kind_legend(seats: list[dict]) -> list[dict]:
    colour = {seat["kind"]: seat["colour"] for seat in reversed(seats)}
    return [
        {"kind": kind, "label": Seat.Kind(kind).label, "note": note,
         "glyph": KIND_GLYPHS.get(kind, ""), "colour": colour[kind]}
        for kind, note in KIND_NOTES.items()
        if kind in colour
    ]  # fmt: skip


def _screen(event) -> dict | None:
    """The hall's screen (the venue spec's stage), in the seats' coordinates."""
    stage = (event.venue.layout_spec.get("venue") or {}).get("stage")
    if not stage:
        return None
    # The word under the screen's line, on the audience's side.
    return {
        **stage,
        "label_x": stage["x"] + stage["w"] / 2,
        "label_y": stage["y"] + stage["h"] * 1.4,
    }
