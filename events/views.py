"""Buyer pages of the catalogue: event list, event page with the stadium map, section view.

The hold form posts to /e/<slug>/hold/ (orders app); these pages only render it.
"""

from __future__ import annotations

from itertools import pairwise

from django.db.models import Min
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from events.exceptions import EventNotFound, SectionNotFound
from events.models import Section, StandingArea
from events.selectors import (
    event_availability,
    event_detail,
    event_list_public,
    phase_status,
    section_of_event,
    section_seats,
)
from ticketing.money import money_format

WEB_CHANNEL = "web"


def _event_or_404(slug: str):
    try:
        return event_detail(slug)
    except EventNotFound as exc:
        raise Http404(str(exc.message)) from exc


def _limit(status) -> int:
    return status.phase.per_buyer_limit if status.phase else 6


def event_list(request: HttpRequest) -> HttpResponse:
    events = event_list_public().annotate(min_price=Min("tiers__price"))[:100]
    return render(request, "events/event_list.html", {"events": events})


def event_page(request: HttpRequest, slug: str) -> HttpResponse:
    event = _event_or_404(slug)
    availability = event_availability(event=event)
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
            "quantities": range(1, _limit(status) + 1),
            "hold_url": f"/e/{event.slug}/hold/",
            # A guarded sale is bought through the waiting room; a visitor
            # who already holds a pass goes straight to the seats.
            "needs_queue": bool(
                status.can_buy
                and status.phase.requires_waiting_room
                and not request.COOKIES.get(f"kassa_pass_{event.pk}")
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


def _seat_radius(seats: list[list]) -> float:
    """Circle radius from the distance between neighbours in a row (0.42 of the spacing)."""
    for a, b in pairwise(seats):
        if a[1] == b[1]:
            return round(max(((a[3] - b[3]) ** 2 + (a[4] - b[4]) ** 2) ** 0.5, 0.2) * 0.42, 3)
    return 1.0


def section_page(request: HttpRequest, slug: str, section_id: int) -> HttpResponse:
    event = _event_or_404(slug)
    try:
        section = section_of_event(event=event, section_id=section_id)
    except SectionNotFound as exc:
        raise Http404(str(exc.message)) from exc
    tiers = {t.pk: t for t in event.tiers.all()}
    status = phase_status(event=event, channel=WEB_CHANNEL)
    context = {
        "event": event,
        "section": section,
        "status": status,
        "limit": _limit(status),
        "quantities": range(1, _limit(status) + 1),
        "hold_url": f"/e/{event.slug}/hold/",
        "tiers": tiers,
    }
    if section.kind == Section.Kind.STANDING:
        area = StandingArea.objects.filter(event=event, section=section).first()
        context["area"] = area
        context["area_tier"] = tiers.get(area.tier_id) if area else None
        return render(request, "events/section_standing.html", context)
    seats = section_seats(event=event, section_id=section.pk)
    radius = _seat_radius(seats)
    if seats:
        xs, ys = [s[3] for s in seats], [s[4] for s in seats]
        pad = radius * 3
        view_box = f"{min(xs) - pad} {min(ys) - pad} {max(xs) - min(xs) + 2 * pad} "
        view_box += f"{max(ys) - min(ys) + 2 * pad}"
    else:
        view_box = "0 0 10 10"
    # Labels are built here, not with {% blocktranslate %} per seat in the
    # template: a 1,000-seat section renders several times faster.
    tier_text = {
        pk: f" — {t.localized_name}, {money_format(t.price, event.currency)}"
        for pk, t in tiers.items()
    }
    seat_label = _("Row %(row)s, seat %(number)s")
    seat_dicts = [
        {"id": s[0], "row": s[1], "number": s[2], "x": s[3], "y": s[4], "tier_id": s[5],
         "status": s[6],
         "label": seat_label % {"row": s[1], "number": s[2]} + tier_text.get(s[5], "")}
        for s in seats
    ]  # fmt: skip
    rows: dict[str, list] = {}
    for seat in seat_dicts:
        rows.setdefault(seat["row"], []).append(seat)
    context.update(
        {
            "seats": seat_dicts,
            "rows": rows.items(),
            "radius": radius,
            "view_box": view_box,
            "available": sum(1 for s in seats if s[6] == "available"),
        }
    )
    return render(request, "events/section_seated.html", context)
