"""Buyer pages of the cinema: the films now showing, a film's page with its
showings, the film's poster, and the film panel of a showing's event page."""

from __future__ import annotations

from datetime import timedelta
from xml.sax.saxutils import escape

from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from cinema import selectors
from cinema.models import Film
from events.models import Event

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
