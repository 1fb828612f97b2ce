from __future__ import annotations

import time

import pytest
from django.test import Client

from queueing import services
from ticketing.cookies import pass_cookie

pytestmark = pytest.mark.django_db


def test_join_form_then_status_page_without_javascript(room):
    client = Client(enforce_csrf_checks=True)
    page = client.get(f"/e/{room.event.slug}/queue/")
    assert page.status_code == 200
    assert b'method="post"' in page.content and room.seed_hash.encode() in page.content
    csrf = page.cookies["csrftoken"].value
    joined = client.post(f"/e/{room.event.slug}/queue/", {"csrfmiddlewaretoken": csrf})
    assert joined.status_code == 302
    status = client.get(f"/e/{room.event.slug}/queue/")
    assert b'http-equiv="refresh"' in status.content
    assert b'id="q-number">1<' in status.content
    assert b"queue-data" in status.content  # the JS poller's config

    t0 = time.time()
    services.room_tick(room=room, now=t0)
    services.room_tick(room=room, now=t0 + 2)
    admitted = client.get(f"/e/{room.event.slug}/queue/")
    assert pass_cookie(room.event_id) in admitted.cookies
    assert f'href="/e/{room.event.slug}/"'.encode() in admitted.content
    assert b'http-equiv="refresh"' not in admitted.content


def test_join_form_without_csrf_is_refused(room):
    response = Client(enforce_csrf_checks=True).post(f"/e/{room.event.slug}/queue/")
    assert response.status_code == 403


def test_waiting_page_in_kazakh_and_english(room):
    labels = {"kk": "Кезекке тұру", "en": "Join the queue", "ru": "Встать в очередь"}
    for lang, text in labels.items():
        page = Client(headers={"accept-language": lang}).get(f"/e/{room.event.slug}/queue/")
        assert text in page.content.decode()


def test_unknown_event_page_is_404(db):
    assert Client().get("/e/nope/queue/").status_code == 404
