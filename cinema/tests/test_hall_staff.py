"""The staff page that makes a hall from its layout: preview without saving, then save."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from cinema.factories import cinema_make
from cinema.models import Hall
from events.models import Seat, Venue

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(admin_client, settings):
    """Staff reading the page in English (the messages asserted below)."""
    admin_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return admin_client


URL = "/staff/cinema/halls/new/"
ROWS = "\n".join(
    ["A: WC_SSSSSSSS_CW"]
    + [f"{r}: SSSS_SSSSSSSS_SSSS" for r in "BCDEF"]
    + ["", "G: LL_LL_LL_LL_LL"]
)


def _post(client, cinema, **extra):
    data = {"cinema": cinema.pk, "code": "3", "name": "Зал 3", "rows": ROWS, "curve": "20"}
    data.update(extra)
    return client.post(URL, data)


def test_preview_draws_the_hall_and_saves_nothing(admin_client):
    cinema = cinema_make()
    response = _post(admin_client, cinema, preview="1")
    assert response.status_code == 200
    html = response.content.decode()
    assert "data-hall-preview" in html and "SCREEN" in html
    assert html.count('data-seat-kind="love"') == 10 and html.count('class="sofa"') == 5
    assert html.count('data-seat-kind="wheelchair"') == 2
    assert "data-hall-total>102<" in html  # 12 + 5 * 16 + 10
    assert not Venue.objects.exists() and not Hall.objects.exists()


def test_save_creates_the_venue_and_the_hall_with_kinds_and_pairs(admin_client):
    cinema = cinema_make()
    response = _post(admin_client, cinema, save="1")
    hall = Hall.objects.get(cinema=cinema, code="3")
    assert response.status_code == 302
    assert response["Location"] == f"/admin/events/venue/{hall.venue_id}/change/"
    seats = Seat.objects.filter(section__venue=hall.venue)
    assert seats.count() == 102
    assert seats.filter(kind="love", pair__isnull=False).count() == 10
    assert seats.filter(kind="wheelchair", pair__kind="companion").count() == 2
    again = _post(admin_client, cinema, save="1")
    assert again.status_code == 400 and "has a hall with code 3 already" in again.content.decode()
    assert Hall.objects.count() == 1


def test_errors_are_listed_per_line_and_nothing_is_written(admin_client):
    cinema = cinema_make()
    rows = ROWS.replace("G: LL_LL", "G: LX_L")
    response = _post(admin_client, cinema, rows=rows + "\nH: SSSW", save="1")
    html = response.content.decode()
    assert response.status_code == 400
    assert "line 8 (row G): unknown characters X" in html
    assert "line 9 (row H): wheelchair space (seat 4) without a companion seat" in html
    assert not Venue.objects.exists() and not Hall.objects.exists()


def test_a_hall_outside_50_to_500_seats_is_refused(admin_client):
    cinema = cinema_make()
    response = _post(admin_client, cinema, rows="A: SSSSSSSSSS", save="1")
    assert response.status_code == 400
    assert "A hall has 50 to 500 seats; this one has 10." in response.content.decode()
    assert not Venue.objects.exists()


def test_a_csv_upload_is_previewed_and_kept_for_the_save(admin_client):
    cinema = cinema_make()
    lines = ["row,number,x,y,kind,pair_with"]
    for r, row in enumerate("ABCDEF"):
        lines += [f"{row},{n},{n * 55},{r * 100},S," for n in range(1, 10)]
    lines += ["G,1,55,600,W,2", "G,2,110,600,C,1"]
    upload = SimpleUploadedFile("hall.csv", "\n".join(lines).encode(), "text/csv")
    response = _post(admin_client, cinema, rows="", csv_file=upload, preview="1")
    html = response.content.decode()
    assert response.status_code == 200 and "data-hall-total>56<" in html
    assert "G,2,110,600,C,1" in html  # the file's text is in the form for the save
    saved = _post(admin_client, cinema, rows="", csv_text="\n".join(lines), save="1")
    assert saved.status_code == 302
    assert Seat.objects.filter(section__venue__hall__code="3").count() == 56


def test_the_page_is_for_staff_with_the_permission_only(client, django_user_model):
    assert client.get(URL).status_code == 302  # to the admin login
    user = django_user_model.objects.create_user("clerk", password="pw", is_staff=True)
    client.force_login(user)
    assert client.get(URL).status_code == 403


def test_a_500_seat_hall_is_taken_and_a_501_seat_one_is_not(admin_client):
    cinema = cinema_make()
    row = "S" * 15 + "_" + "S" * 20 + "_" + "S" * 15  # 50 seats
    big = "\n".join(f"R{r}: {row}" for r in range(1, 11))
    one_more = big + "\nX: S"
    refused = _post(admin_client, cinema, rows=one_more, save="1")
    assert refused.status_code == 400
    assert "A hall has 50 to 500 seats; this one has 501." in refused.content.decode()
    assert _post(admin_client, cinema, rows=big, save="1").status_code == 302
    assert Seat.objects.filter(section__venue__hall__code="3").count() == 500
