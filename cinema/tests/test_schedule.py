"""The schedule: selector filters, the buyer page, the partner API (filters,
cursor pages, bounded SQL), the import API and the staff CSV page."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import Permission, User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation
from rest_framework.test import APIClient

from api.models import Partner
from api.services import api_key_create
from cinema.factories import cinema_make, city_make, film_make, hall_make
from cinema.imports import schedule_import, schedule_lines_from_rows
from cinema.models import Showing
from cinema.selectors import ScheduleQuery, schedule_showings, showing_seats
from events.models import EventSeat

pytestmark = pytest.mark.django_db
ALMATY = ZoneInfo("Asia/Almaty")
PRICES = {
    "standard": "2500",
    "vip": "4500",
    "wheelchair": "1500",
    "companion": "1500",
    "love": "3500",
}


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def _today():
    return timezone.now().astimezone(ALMATY).date()


def _rows(halls, *, days=range(1, 7), slots=6, film="steppe-wind", **extra):
    rows = []
    for day in days:
        date = _today() + timedelta(days=day)
        for hall in halls:
            for slot in range(slots):
                start = f"{date} {9 + 2 * slot:02d}:00"
                rows.append(
                    {
                        "cinema": hall.cinema.slug,
                        "hall": hall.code,
                        "film": film,
                        "start": start,
                        "prices": PRICES,
                        **extra,
                    }
                )
    return rows


def _import(rows):
    return schedule_import(lines=schedule_lines_from_rows(rows))


@pytest.fixture
def city():
    city = city_make()
    film_make()
    return city


def _api(**params):
    return APIClient().get("/api/v1/cinema/showings/", params, HTTP_ACCEPT_LANGUAGE="en")


# --- selector and filters ---------------------------------------------------


def test_filters_by_film_cinema_format_language_and_time_of_day(city):
    a = hall_make(rows=2, per_row=4)
    b = hall_make(cinema=cinema_make(slug="mega", city=city), code="1", rows=2, per_row=4)
    film_make(slug="other", duration=90)
    _import(_rows([a], days=[1], slots=3))  # 09:00 11:00 13:00 2d ru
    _import(
        _rows([b], days=[1], slots=1, film="other", format="imax", language="en", subtitles="kk")
    )
    day = _today() + timedelta(days=1)

    def slugs(**f):
        return [
            (s.cinema.slug, s.starts_at.astimezone(ALMATY).hour)
            for s in schedule_showings(ScheduleQuery(city=city, day=day, **f))
        ]

    assert slugs() == [("esentai", 9), ("mega", 9), ("esentai", 11), ("esentai", 13)]
    assert slugs(film="other") == [("mega", 9)]
    assert slugs(cinema="esentai") == [("esentai", 9), ("esentai", 11), ("esentai", 13)]
    assert slugs(format="imax") == slugs(language="en") == [("mega", 9)]
    assert slugs(time_of_day="morning") == [("esentai", 9), ("mega", 9), ("esentai", 11)]
    assert slugs(time_of_day="day") == [("esentai", 13)]
    assert slugs(time_of_day="evening") == slugs(time_of_day="night") == []
    assert schedule_showings(ScheduleQuery(city=city, day=_today())).count() == 0
    assert schedule_showings(ScheduleQuery(city=city, day=_today(), days=7)).count() == 4


def test_night_wraps_past_midnight_and_started_showings_are_gone(city):
    hall = hall_make(rows=2, per_row=4)
    day = _today() + timedelta(days=1)
    _import(
        [
            {
                "cinema": "esentai",
                "hall": "1",
                "film": "steppe-wind",
                "start": f"{day} {t}",
                "prices": PRICES,
            }
            for t in ("00:30", "23:00")
        ]
    )
    night = schedule_showings(ScheduleQuery(city=city, day=day, time_of_day="night"))
    assert [s.starts_at.astimezone(ALMATY).strftime("%H:%M") for s in night] == ["00:30", "23:00"]
    assert schedule_showings(ScheduleQuery(city=city, day=day), now=night[0].starts_at).count() == 1
    assert hall


def test_sold_out_and_few_seats_left_marks(city):
    hall = hall_make(rows=2, per_row=10)  # 20 seats: "few" is 10 or less
    _import(_rows([hall], days=[1], slots=3))
    first, second, third = Showing.objects.order_by("starts_at")
    EventSeat.objects.filter(event_id=first.pk).update(status="sold")
    ids = list(EventSeat.objects.filter(event_id=second.pk).values_list("pk", flat=True)[:10])
    EventSeat.objects.filter(pk__in=ids).update(status="blocked")
    seats = showing_seats([first.pk, second.pk, third.pk])
    assert (seats[first.pk].sold_out, seats[first.pk].few_left) == (True, False)
    assert (seats[second.pk].available, seats[second.pk].few_left) == (10, True)
    assert (seats[third.pk].available, seats[third.pk].capacity) == (20, 20)
    assert not seats[third.pk].few_left and not seats[third.pk].sold_out


# --- buyer page ---------------------------------------------------------------


def test_the_page_lists_showings_by_film_and_cinema_linking_to_their_events(client, city):
    hall = hall_make(rows=2, per_row=4)
    _import(_rows([hall], days=[1], slots=2))
    EventSeat.objects.filter(event_id=Showing.objects.order_by("starts_at").first().pk).update(
        status="sold"
    )
    day = _today() + timedelta(days=1)
    page = client.get(f"/cinema/almaty/?date={day}", HTTP_ACCEPT_LANGUAGE="en")
    html = page.content.decode()
    assert page.status_code == 200
    for showing in Showing.objects.all():
        assert f'href="/e/{showing.event.slug}/"' in html
    assert "Sold out" in html and ">09:00<" in html and ">11:00<" in html
    assert client.get("/cinema/almaty/?date=nonsense&format=4d").status_code == 200
    assert client.get("/cinema/nowhere/").status_code == 404
    assert client.get("/cinema/").status_code == 302  # one city: straight to it
    assert 'href="/cinema/"' in client.get("/").content.decode()


def test_the_page_is_translated(client, city):
    client.cookies["django_language"] = "ru"
    with translation.override("ru"):
        html = client.get("/cinema/almaty/", HTTP_ACCEPT_LANGUAGE="ru").content.decode()
    assert "Сегодня" in html


def _many(city_slug: str, count: int) -> None:
    city = city_make(city_slug)
    film_make()
    halls = [
        hall_make(
            cinema=cinema_make(slug=f"{city_slug}-{i}", city=city), code="1", rows=1 + 1, per_row=3
        )
        for i in range(5)
    ]
    _import(_rows(halls, slots=7)[:count])


@pytest.mark.parametrize(
    "path",
    ["/cinema/{city}/?date=week", "/api/v1/cinema/showings/?city={city}&date=week&page_size=200"],
)
def test_sql_statements_do_not_grow_with_the_showings(client, path):
    counts = {}
    for city_slug, count in (("ten", 10), ("many", 200)):
        _many(city_slug, count)
        url = path.format(city=city_slug)
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(url)
        assert response.status_code == 200
        body = response.content.decode()
        assert body.count("/e/") >= count
        counts[count] = len(ctx.captured_queries)
        with CaptureQueriesContext(connection) as cached:
            assert client.get(url).status_code == 200
        assert len(cached.captured_queries) <= counts[count]
    assert counts[10] == counts[200], counts


# --- partner API ----------------------------------------------------------------


def test_the_api_pages_through_the_week_with_cursors(city):
    halls = [
        hall_make(cinema=cinema_make(slug=f"c{i}", city=city), code="1", rows=2, per_row=3)
        for i in range(2)
    ]
    _import(_rows(halls))  # 72 showings
    seen, params = [], {"city": "almaty", "date": "week", "page_size": 30}
    client = APIClient()
    response = client.get("/api/v1/cinema/showings/", params)
    while True:
        assert response.status_code == 200
        seen += [(r["starts_at"], r["id"]) for r in response.json()["results"]]
        if not response.json()["next"]:
            break
        response = client.get(response.json()["next"])
    assert len(seen) == 72 == len(set(seen)) and seen == sorted(seen)
    first = _api(city="almaty", date="week").json()["results"][0]
    assert first["url"] == f"/e/{first['event']}/" and first["available"] == first["capacity"] == 6
    assert first["starts_at"].endswith("+05:00") and first["film"]["slug"] == "steppe-wind"
    availability = client.get(f"/api/v1/events/{first['event']}/availability/")
    assert availability.status_code == 200 and availability.json()["available"] == 6


def test_api_filters_and_bad_parameters(city):
    hall = hall_make(rows=2, per_row=4)
    _import(_rows([hall], days=[1], slots=4))
    day = str(_today() + timedelta(days=1))
    assert len(_api(city="almaty", date=day).json()["results"]) == 4
    assert len(_api(city="almaty", date="tomorrow", time_of_day="day").json()["results"]) == 2
    assert _api(city="almaty", date=day, film_format="imax").json()["results"] == []
    assert (
        len(_api(city="almaty", date=day, film_format="2d", language="ru").json()["results"]) == 4
    )
    assert _api(city="almaty", date=day, cinema="mega").json()["results"] == []
    assert _api(city="almaty").json()["results"] == []
    bad = _api(city="nowhere", date="soon", film_format="4d")
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "validation_error"
    assert set(bad.json()["error"]["details"]) >= {"film_format"}
    assert _api(city="nowhere").json()["error"]["details"] == {"city": ["Unknown city."]}
    assert _api(city="almaty", date="soon").json()["error"]["details"] == {
        "date": ["Not a date (YYYY-MM-DD)."]
    }
    assert _api().status_code == 400


def test_films_cinemas_and_cities(city):
    hall = hall_make(rows=2, per_row=4)
    _import(_rows([hall], days=[1], slots=1))
    client = APIClient()
    films = client.get("/api/v1/cinema/films/", {"city": "almaty"}).json()["results"]
    assert [f["slug"] for f in films] == ["steppe-wind"]
    cinemas = client.get("/api/v1/cinema/cinemas/", {"city": "almaty"}).json()["results"]
    assert cinemas[0]["slug"] == "esentai" and cinemas[0]["halls"][0]["code"] == "1"
    assert client.get("/api/v1/cinema/cities/").json()[0]["slug"] == "almaty"
    assert client.get("/api/v1/cinema/films/", {"city": "nowhere"}).status_code == 404


def test_the_schema_documents_the_cinema_endpoints(client):
    schema = client.get("/api/v1/schema/", HTTP_ACCEPT="application/json").content.decode()
    for path in (
        "/api/v1/cinema/showings/",
        "/api/v1/cinema/schedule/",
        "/api/v1/cinema/films/",
        "/api/v1/cinema/cinemas/",
    ):
        assert path in schema


# --- import API and staff page ---------------------------------------------------


def _key(scopes, partner_slug="kinopark"):
    partner, _ = Partner.objects.get_or_create(slug=partner_slug, defaults={"name": partner_slug})
    _, raw = api_key_create(partner=partner, scopes=scopes)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}", HTTP_ACCEPT_LANGUAGE="en")
    return partner, client


def test_a_cinemas_own_system_imports_its_schedule_with_a_schedule_key(city):
    hall = hall_make(rows=2, per_row=4)
    partner, client = _key(["schedule"])
    hall.cinema.schedule_partner = partner
    hall.cinema.save(update_fields=["schedule_partner"])
    response = client.post(
        "/api/v1/cinema/schedule/", {"showings": _rows([hall], days=[1])}, format="json"
    )
    assert response.status_code == 201, response.json()
    assert response.json()["created"] == 6 == Showing.objects.count()
    assert response.json()["by_cinema"] == {"esentai": {"created": 6, "seats": 48}}


def test_the_import_api_refuses_other_cinemas_bad_lines_and_missing_scopes(city):
    hall = hall_make(rows=2, per_row=4)
    _, client = _key(["schedule"])
    refused = client.post(
        "/api/v1/cinema/schedule/", {"showings": _rows([hall], days=[1])[:1]}, format="json"
    )
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "schedule_invalid"
    assert refused.json()["error"]["details"] == {
        "line 1": ['Line 1: you may not import the schedule of cinema "esentai".']
    }
    _, catalog = _key(["catalog"], partner_slug="bank")
    no_scope = catalog.post("/api/v1/cinema/schedule/", {"showings": []}, format="json")
    assert no_scope.status_code == 403 and no_scope.json()["error"]["code"] == "insufficient_scope"
    assert APIClient().post("/api/v1/cinema/schedule/", {}, format="json").status_code == 401
    empty = client.post("/api/v1/cinema/schedule/", {"showings": []}, format="json")
    assert empty.status_code == 400 and "showings" in empty.json()["error"]["details"]
    assert not Showing.objects.exists()


@pytest.fixture
def staff(client):
    user = User.objects.create_user("planner", password="x", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="add_showing"))
    client.force_login(user)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def _upload(client, text: str):
    csv = SimpleUploadedFile("week.csv", text.encode(), content_type="text/csv")
    return client.post("/staff/cinema/schedule/import/", {"file": csv})


def test_staff_upload_a_csv_and_see_every_bad_line(staff, city):
    hall_make(rows=2, per_row=4)
    day = _today() + timedelta(days=1)
    header = (
        "cinema,hall,film,start,price_standard,price_vip,price_wheelchair,price_companion,"
        "price_love"
    )
    good = f"esentai,1,steppe-wind,{day} 10:00,2500,4500,1500,1500,3500"
    bad = f"esentai,1,ghost,{day} 14:00,2500,4500,1500,1500,-3"
    page = _upload(staff, f"{header}\n{good}\n{bad}\n")
    html = page.content.decode()
    assert page.status_code == 400
    assert "Line 3: unknown film &quot;ghost&quot;." in html
    assert "Line 3: price_love must not be negative." in html
    assert not Showing.objects.exists()
    page = _upload(staff, f"{header}\n{good}\n")
    assert page.status_code == 200 and Showing.objects.count() == 1
    assert "Showings imported: 1, seats: 8." in page.content.decode()
    assert "Unknown column" in _upload(staff, "cinema,colour\n").content.decode()


def test_the_upload_page_is_for_staff_with_the_permission(client):
    assert client.get("/staff/cinema/schedule/import/").status_code == 302
    user = User.objects.create_user("clerk", password="x", is_staff=True)
    client.force_login(user)
    assert client.get("/staff/cinema/schedule/import/").status_code == 403


def test_showings_started_since_the_list_was_cached_are_dropped(city):
    hall = hall_make(rows=2, per_row=4)
    _import(_rows([hall], days=[1], slots=2))
    from cinema.selectors import schedule_list

    day = _today() + timedelta(days=1)
    query = ScheduleQuery(city=city, day=day)
    assert len(schedule_list(query)) == 2
    first = Showing.objects.order_by("starts_at").first()
    later = first.starts_at + timedelta(minutes=1)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(timezone, "now", lambda: later)
        assert len(schedule_list(query)) == 1
    assert isinstance(first.starts_at, datetime)


def test_the_cached_listing_is_per_language_and_an_import_shows_at_once(
    client, city, django_capture_on_commit_callbacks
):
    hall = hall_make(rows=2, per_row=4)
    _import(_rows([hall], days=[1], slots=1))
    url = f"/cinema/almaty/?date={_today() + timedelta(days=1)}"
    assert ">09:00<" in client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    with django_capture_on_commit_callbacks(execute=True):  # the version bump
        _import(_rows([hall], days=[1], slots=2)[1:])  # 11:00, in the same cached day
    english = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert ">11:00<" in english and "min<" in english
    client.cookies["django_language"] = "kk"
    kazakh = client.get(url, HTTP_ACCEPT_LANGUAGE="kk").content.decode()
    assert "мин<" in kazakh and "min<" not in kazakh


def test_staff_with_the_permission_import_any_cinema_through_the_api(city):
    hall = hall_make(rows=2, per_row=4)
    planner = User.objects.create_user("api-planner", password="x", is_staff=True)
    clerk = User.objects.create_user("api-clerk", password="x", is_staff=True)
    planner.user_permissions.add(Permission.objects.get(codename="add_showing"))
    body = {"showings": _rows([hall], days=[1], slots=1)}
    client = APIClient()
    client.force_login(clerk)
    assert client.post("/api/v1/cinema/schedule/", body, format="json").status_code == 403
    client.force_login(planner)
    assert client.post("/api/v1/cinema/schedule/", body, format="json").status_code == 201
    assert Showing.objects.filter(hall=hall).count() == 1
