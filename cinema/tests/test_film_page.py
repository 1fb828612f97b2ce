"""The film page: the film's facts and its upcoming showings by cinema and
day, with marks; the showing's event page shows the film; bounded SQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from cinema.factories import cinema_make, film_make, hall_make, showing_make
from cinema.models import Genre
from events.models import EventSeat

pytestmark = pytest.mark.django_db


@pytest.fixture
def film():
    film = film_make(slug="steppe-wind", duration=110, rating="12+")
    film.synopsis_en = "A wind crosses the steppe."
    film.trailer_url = "https://example.com/trailer"
    film.save(update_fields=["synopsis_en", "trailer_url"])
    film.genres.add(Genre.objects.create(slug="drama", name="Драма", name_en="Drama"))
    return film


def _showings(film, n_cinemas: int = 2, per_cinema: int = 3, prefix: str = "cinema"):
    now = timezone.now()
    shows = []
    for c in range(n_cinemas):
        cinema = cinema_make(slug=f"{prefix}-{c}", address="ул. Абая, 1")
        hall = hall_make(cinema=cinema, code=f"h{c}", rows=3, per_row=4)
        for i in range(per_cinema):
            shows.append(
                showing_make(hall=hall, film=film, starts_at=now + timedelta(hours=2 + 24 * i))
            )
    return shows


def test_film_page_lists_showings_by_cinema_and_day_in_bounded_sql(
    client, film, django_assert_max_num_queries
):
    shows = _showings(film)
    client.cookies["django_language"] = "en"
    with django_assert_max_num_queries(8):
        page = client.get("/films/steppe-wind/")
    html = page.content.decode()
    assert page.status_code == 200
    assert "Steppe Wind" in html and "A wind crosses the steppe." in html
    assert "12+" in html and "110 min" in html and "Drama" in html
    assert "https://example.com/trailer" in html
    assert html.count("data-cinema=") == 2
    for show in shows:
        assert f'href="/e/{show.event.slug}/"' in html
    assert "Today" in html and "Tomorrow" in html
    # Many more showings cost no more queries.
    _showings(film, n_cinemas=3, per_cinema=5, prefix="more")
    with django_assert_max_num_queries(8):
        assert client.get("/films/steppe-wind/").status_code == 200


def test_sold_out_and_few_left_marks(client, film):
    sold, few, plenty = _showings(film, n_cinemas=1, per_cinema=3)
    EventSeat.objects.filter(event=sold.event).update(status="sold")
    ids = list(EventSeat.objects.filter(event=few.event).values_list("pk", flat=True))
    EventSeat.objects.filter(pk__in=ids[1:]).update(status="sold")
    html = client.get("/films/steppe-wind/").content.decode()
    assert f'href="/e/{sold.event.slug}/"' not in html and "data-sold-out" in html
    assert "data-few-left" in html
    assert f'href="/e/{plenty.event.slug}/"' in html


def test_past_showings_are_not_listed(client, film):
    (show,) = _showings(film, n_cinemas=1, per_cinema=1)
    show.event.starts_at = show.starts_at = timezone.now() - timedelta(minutes=5)
    show.save(update_fields=["starts_at"])
    html = client.get("/films/steppe-wind/").content.decode()
    assert f'href="/e/{show.event.slug}/"' not in html


def test_unknown_film_is_404(client):
    assert client.get("/films/nope/").status_code == 404


def test_event_page_of_a_showing_shows_the_film_and_links_back(client, film):
    (show,) = _showings(film, n_cinemas=1, per_cinema=1)
    show.cinema.map_url = "https://2gis.kz/almaty"
    show.cinema.save(update_fields=["map_url"])
    html = client.get(f"/e/{show.event.slug}/").content.decode()
    assert "data-event-film" in html
    assert 'href="/films/steppe-wind/"' in html
    assert "12+" in html and "ул. Абая, 1" in html and "https://2gis.kz/almaty" in html
    assert show.hall.localized_name in html


def test_home_links_to_the_films_and_lists_no_showings(client, film):
    (show,) = _showings(film, n_cinemas=1, per_cinema=1)
    home = client.get("/").content.decode()
    assert 'href="/films/"' in home
    assert show.event.slug not in home
    films = client.get("/films/").content.decode()
    assert 'href="/films/steppe-wind/"' in films
    poster = client.get("/films/steppe-wind/poster/")
    assert poster.status_code == 200 and poster["Content-Type"] == "image/svg+xml"
