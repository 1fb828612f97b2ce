"""Pages of the cinema side: the buyer's city schedule, the films now showing,
a film's page with its showings, the film's poster, the film panel of a
showing's event page, and the staff's CSV schedule import (thin: each reads
selectors or calls one service)."""

from __future__ import annotations

from datetime import timedelta
from xml.sax.saxutils import escape

from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import permission_required
from django.core.cache import cache
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import get_language
from django.views.decorators.http import require_GET

from cinema import selectors
from cinema.exceptions import ScheduleInvalid
from cinema.forms import ScheduleFilterForm, ScheduleUploadForm
from cinema.imports import schedule_import, schedule_lines_from_csv, schedule_messages
from cinema.models import Film
from events.models import Event


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


POSTER_COLOURS = ("#1e3a8a", "#7c2d12", "#14532d", "#581c87", "#0f172a", "#831843")


@require_GET
def film_list(request: HttpRequest) -> HttpResponse:
    return render(request, "cinema/film_list.html", {"films": selectors.films_showing()})


@require_GET
def film_page(request: HttpRequest, slug: str) -> HttpResponse:
    film = selectors.film_detail(slug)
    if film is None:
        raise Http404
    today = timezone.localdate()
    return render(
        request,
        "cinema/film_page.html",
        {
            "film": film,
            "schedule": selectors.film_schedule(film=film),
            "today": today,
            "tomorrow": today + timedelta(days=1),
        },
    )


@require_GET
def film_poster(request: HttpRequest, slug: str) -> HttpResponse:
    """The uploaded poster, else one drawn from the title (the demo's films have none)."""
    film = Film.objects.filter(slug=slug).first()
    if film is None:
        raise Http404
    if film.poster and default_storage.exists(film.poster.name):
        response = FileResponse(default_storage.open(film.poster.name, "rb"))
    else:
        response = HttpResponse(poster_svg(film), content_type="image/svg+xml")
    response["Cache-Control"] = "public, max-age=3600"
    return response


def poster_svg(film: Film) -> str:
    """A 2:3 poster: a colour picked by the slug, the title and the age rating."""
    colour = POSTER_COLOURS[sum(map(ord, film.slug)) % len(POSTER_COLOURS)]
    # The Russian title in every language: one cached image per film.
    words = film.title.split()
    lines, line = [], ""
    for word in words:
        if line and len(line) + len(word) > 12:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    lines.append(line)
    text = "".join(
        f'<text x="100" y="{130 + 26 * i}" text-anchor="middle">{escape(part)}</text>'
        for i, part in enumerate(lines[:5])
    )
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 200 300" width="200" height="300">'
        '<defs><linearGradient id="g" x1="0" y1="0" x2="0" y2="1">'
        f'<stop offset="0" stop-color="{colour}"/>'
        '<stop offset="1" stop-color="#000"/></linearGradient></defs>'
        '<rect width="200" height="300" fill="url(#g)"/>'
        '<circle cx="160" cy="50" r="60" fill="#fff" opacity="0.08"/>'
        '<g fill="#fff" font-family="sans-serif" font-size="20" font-weight="bold">'
        f"{text}</g>"
        f'<text x="180" y="285" fill="#fff" font-family="sans-serif" font-size="16" '
        f'text-anchor="end">{escape(film.age_rating)}</text></svg>'
    )


def event_film_panel(event: Event) -> dict | None:
    """The event page's film panel of a showing (events.views.event_page_panels)."""
    if event.production_id is None:
        return None
    showing = selectors.showing_of_event(event)
    if showing is None:
        return None
    return {"template": "cinema/_event_film.html", "showing": showing, "film": showing.film}
