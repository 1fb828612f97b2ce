# ruff: noqa: RUF001 - Kazakh text uses Cyrillic letters that look like Latin ones
"""A server that does not answer (a Redis or PostgreSQL restart) is an outage,
not a bug: 503 with Retry-After and "try again in a few seconds", the API's
error body under /api/, never the 500 page (the faults suite saw 500s while
its Redis restarted)."""

from __future__ import annotations

import socket

import pytest
from django.test import Client

AGAIN = {
    "ru": "Часть сервиса перезапускается",
    "kk": "Қызметтің бір бөлігі қайта іске қосылуда",
    "en": "Part of the service is restarting",
}


@pytest.fixture
def redis_down(settings):
    """The cache pointed at a local port where nothing listens."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings.DEBUG = False
    settings.CACHES = {
        "default": {
            **settings.CACHES["default"],
            "LOCATION": f"redis://127.0.0.1:{port}/0",
        }
    }


@pytest.mark.urls("ticketing.tests.urls_crash")
@pytest.mark.parametrize("language", ["ru", "kk", "en"])
def test_a_page_while_redis_is_down_says_try_again_in_a_few_seconds(redis_down, language):
    response = Client(raise_request_exception=False).get(
        "/test-cache/", headers={"accept-language": language}
    )
    assert response.status_code == 503
    assert response["Retry-After"] == "2"
    html = response.content.decode()
    assert AGAIN[language] in html and 'class="site-header"' in html
    assert 'data-error="503"' in html


@pytest.mark.urls("ticketing.tests.urls_crash")
def test_an_api_url_outside_drf_while_redis_is_down_gets_the_error_body(redis_down):
    response = Client(raise_request_exception=False).get(
        "/api/v1/test-cache/", headers={"accept-language": "en"}
    )
    assert response.status_code == 503 and response["Retry-After"] == "2"
    assert response.json()["error"]["code"] == "service_unavailable"


@pytest.mark.django_db
def test_an_api_view_while_redis_is_down_answers_503_with_the_error_body(settings):
    from queueing.tests.factories import make_room

    room = make_room(admission_rate_per_minute=60, max_active_shoppers=5)
    with socket.socket() as sock:  # then Redis goes away
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings.DEBUG = False
    settings.CACHES = {
        "default": {**settings.CACHES["default"], "LOCATION": f"redis://127.0.0.1:{port}/0"}
    }
    # Joining the waiting room is Redis only (throttles fail open; the room does not).
    response = Client(raise_request_exception=False).post(
        f"/api/v1/events/{room.event.slug}/queue/join/",
        data={},
        content_type="application/json",
        headers={"accept-language": "ru"},
    )
    assert response.status_code == 503, response.content
    body = response.json()
    assert body["error"]["code"] == "service_unavailable"
    assert AGAIN["ru"] in body["error"]["message"]
    assert response["Retry-After"] == "2"
