# ruff: noqa: RUF001 - Kazakh text uses Cyrillic letters that look like Latin ones
"""Branded, translated error pages that keep the header and a way home; /favicon.ico."""

from __future__ import annotations

import pytest
from django.test import Client

NOT_FOUND = {
    "ru": "Страница не найдена",
    "kk": "Бет табылмады",
    "en": "Page not found",
}
HOME = {"ru": "На главную", "kk": "Басты бетке", "en": "Go to the home page"}
EVENTS = {"ru": "Мероприятия", "kk": "Іс-шаралар", "en": "Events"}
BROKEN = {"ru": "Что-то пошло не так", "kk": "Бірдеңе дұрыс болмады", "en": "Something went wrong"}


@pytest.fixture(autouse=True)
def _production_mode(settings):
    settings.DEBUG = False


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["ru", "kk", "en"])
def test_unknown_url_shows_the_branded_404_in_the_visitors_language(client, language):
    response = client.get("/no-such-page/", headers={"accept-language": language})
    assert response.status_code == 404
    html = response.content.decode()
    assert NOT_FOUND[language] in html and HOME[language] in html
    assert 'class="site-header"' in html and f">{EVENTS[language]}</a>" in html
    assert 'href="/">' in html  # a link home
    assert f'<html lang="{language}">' in html
    assert "The requested resource was not found" not in html  # Django's bare page


@pytest.mark.django_db
def test_a_missing_event_also_gets_the_branded_404(client):
    response = client.get("/e/no-such-event/", headers={"accept-language": "kk"})
    assert response.status_code == 404 and NOT_FOUND["kk"] in response.content.decode()


def test_api_urls_keep_their_json_404(client, db):
    response = client.get("/api/v1/no-such-endpoint/")
    assert response.status_code == 404 and response["Content-Type"] == "application/json"


@pytest.mark.urls("ticketing.tests.urls_crash")
@pytest.mark.parametrize("language", ["ru", "kk", "en"])
def test_a_crashing_view_gives_the_branded_500_without_the_database(language):
    # No django_db mark: any database query while rendering the page would fail the test.
    client = Client(raise_request_exception=False)
    response = client.get("/test-crash/", headers={"accept-language": language})
    assert response.status_code == 500
    html = response.content.decode()
    assert BROKEN[language] in html and HOME[language] in html
    assert 'class="site-header"' in html and 'href="/"' in html
    assert "Server Error (500)" not in html


@pytest.mark.django_db
def test_bad_request_page_is_branded(client, settings):
    settings.ALLOWED_HOSTS = ["testserver"]
    response = client.get("/", headers={"host": "evil.example", "accept-language": "en"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "Bad request" in html and HOME["en"] in html and 'class="site-header"' in html


def test_favicon_is_served_as_an_image(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/x-icon"
    body = b"".join(response) if response.streaming else response.content
    assert body[:4] == b"\x00\x00\x01\x00"  # the ICO header


@pytest.mark.django_db
def test_pages_link_the_favicon(client):
    html = client.get("/").content.decode()
    assert 'rel="icon"' in html and "favicon.svg" in html
