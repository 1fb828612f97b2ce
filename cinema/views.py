"""Pages of the cinema side: the buyer's city schedule and the staff's CSV
schedule import (thin: each reads selectors or calls one service)."""

from __future__ import annotations

from datetime import timedelta

from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import permission_required
from django.core.cache import cache
from django.http import Http404
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.utils.safestring import mark_safe
from django.utils.translation import get_language

from cinema import selectors
from cinema.exceptions import ScheduleInvalid
from cinema.forms import ScheduleFilterForm, ScheduleUploadForm
from cinema.imports import schedule_import, schedule_lines_from_csv, schedule_messages


def city_list(request):
    cities = selectors.city_list()
    if len(cities) == 1:
        return redirect("cinema:schedule", city=cities[0].slug)
    return TemplateResponse(request, "cinema/cities.html", {"cities": cities})


def schedule(request, city: str):
    found = selectors.city_by_slug(city)
    if found is None:
        raise Http404
    form = ScheduleFilterForm(request.GET)
    f = form.cleaned_data if form.is_valid() else {}
    day, days = selectors.schedule_days(found, f.get("date", ""))
    if day is None:
        day, days = selectors.schedule_days(found, "today")
    query = selectors.ScheduleQuery(
        city=found,
        day=day,
        days=days,
        film=f.get("film", ""),
        cinema=f.get("cinema", ""),
        format=f.get("format", ""),
        language=f.get("language", ""),
        time_of_day=f.get("time_of_day", ""),
    )
    films, cinemas = selectors.schedule_choices(found)
    today = selectors.city_today(found)
    context = {
        "city": found,
        "cities": selectors.city_list(),
        "form": form,
        "query": query,
        "dates": [today + timedelta(days=i) for i in range(selectors.WEEK_DAYS)],
        "today": today,
        "week": days > 1,
        "films": films,
        "cinemas": cinemas,
        "listing": _listing(query),
    }
    return TemplateResponse(request, "cinema/schedule.html", context)


def _listing(query: selectors.ScheduleQuery) -> str:
    """The rendered showings of the page. Rendering a city's whole day (~1,000
    showings) costs more than reading it, so the HTML is cached per query and
    language for SEATS_TTL, as long as the seat marks in it may be stale."""
    key = selectors.schedule_page_key(query, get_language())
    listing = cache.get(key)
    if listing is None:
        showings = selectors.schedule_list(query)
        seats = selectors.showing_seats([s.event_id for s in showings])
        for showing in showings:
            showing.seats = seats[showing.event_id]
        listing = render_to_string(
            "cinema/_schedule_list.html",
            {"city": query.city, "week": query.days > 1,
             "schedule": selectors.schedule_by_film(showings)},
        )  # fmt: skip
        cache.set(key, str(listing), selectors.SEATS_TTL)
    return mark_safe(listing)


@staff_member_required
@permission_required("cinema.add_showing", raise_exception=True)
def schedule_upload(request):
    form = ScheduleUploadForm(request.POST or None, request.FILES or None)
    errors: list[str] = []
    report = None
    if request.method == "POST" and form.is_valid():
        try:
            report = schedule_import(lines=schedule_lines_from_csv(form.cleaned_data["file"]))
        except ScheduleInvalid as exc:
            errors = schedule_messages(exc)
    return TemplateResponse(
        request,
        "cinema/schedule_upload.html",
        {"form": form, "errors": errors, "report": report},
        status=400 if errors else 200,
    )
