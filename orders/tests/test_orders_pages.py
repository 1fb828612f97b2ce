"""Buyer pages: take a hold from the event page, checkout with countdown, order, release."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.utils import timezone

from events.models import EventSeat, StandingArea
from orders.models import Hold, Order
from orders.tests.factories import seat_ids


@pytest.fixture
def browser_client():
    return Client()


def take_seats(client, event, ids):
    return client.post(f"/e/{event.slug}/hold/", {"seats": [str(i) for i in ids]})


def test_seats_from_the_event_page_lead_to_checkout_with_a_countdown(browser_client, event):
    response = take_seats(browser_client, event, seat_ids(event)[:2])
    hold = Hold.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/checkout/{hold.pk}/"
    page = browser_client.get(response["Location"])
    html = page.content.decode()
    assert page.status_code == 200
    assert 'id="countdown"' in html
    remaining = int(html.split('data-remaining="')[1].split('"')[0])
    assert 590 <= remaining <= 600
    # Without JS the expiry time shows, in the event's time zone.
    local = hold.expires_at.astimezone(ZoneInfo(event.time_zone)).strftime("%H:%M")
    assert local in html
    assert "50\u00a0000\u00a0₸" in html  # ru is the default language
    starts = event.starts_at.astimezone(ZoneInfo(event.time_zone)).strftime("%H:%M")
    assert f"{starts} (время Алматы)" in html and event.venue.name in html


def test_best_quantity_and_standing_forms(browser_client, event):
    best = browser_client.post(f"/e/{event.slug}/hold/", {"best_quantity": "2"})
    assert best.status_code == 302 and best["Location"].startswith("/checkout/")
    section = StandingArea.objects.get(event=event).section_id
    floor = browser_client.post(
        f"/e/{event.slug}/hold/", {"standing_section": str(section), "quantity": "2"}
    )
    assert floor.status_code == 302 and floor["Location"].startswith("/checkout/")
    assert StandingArea.objects.get(event=event).held == 2


def test_hold_error_goes_back_to_the_event_page_with_the_message(browser_client, event):
    ids = seat_ids(event)[:1]
    take_seats(Client(), event, ids)
    response = take_seats(browser_client, event, ids)
    assert response.status_code == 302
    assert response["Location"] == f"/e/{event.slug}/"
    texts = [str(m) for m in get_messages(response.wsgi_request)]
    assert (texts and "taken" in texts[0].lower()) or "занят" in texts[0].lower()
    assert browser_client.post(f"/e/{event.slug}/hold/", {"seats": ["x"]}).status_code == 302


def test_contact_form_shows_clear_errors_then_creates_the_order(browser_client, event):
    take_seats(browser_client, event, seat_ids(event)[:2])
    hold = Hold.objects.get()
    url = f"/checkout/{hold.pk}/"
    bad = browser_client.post(url, {"email": "nope", "name": "", "phone": "123"})
    assert bad.status_code == 200
    html = bad.content.decode()
    assert html.count('class="errorlist"') >= 3
    assert Order.objects.count() == 0
    good = browser_client.post(url, {"email": "a@example.kz", "name": "Aigerim", "phone": ""})
    order = Order.objects.get()
    assert good.status_code == 302
    assert good["Location"] == f"/orders/{order.code}/pay/"
    # Back on the checkout page (double submit, back button): straight to payment.
    assert browser_client.get(url)["Location"] == f"/orders/{order.code}/pay/"
    assert order.language == "ru"  # the site's default


def test_the_order_remembers_the_language_the_buyer_chose(browser_client, event):
    page = browser_client.get(f"/e/{event.slug}/").content.decode()
    # Each language is offered by its own name, so a reader of any finds it.
    for code, name in (("ru", "Русский"), ("kk", "Қазақ"), ("en", "English")):
        assert f'<option value="{code}" lang="{code}"' in page and f">{name}</option>" in page
    browser_client.post("/i18n/setlang/", {"language": "kk"})
    take_seats(browser_client, event, seat_ids(event)[:1])
    hold = Hold.objects.get()
    browser_client.post(f"/checkout/{hold.pk}/", {"email": "a@example.kz", "name": "Aigerim"})
    assert Order.objects.get().language == "kk"


def test_release_button_frees_the_seats(browser_client, event):
    ids = seat_ids(event)[:2]
    take_seats(browser_client, event, ids)
    hold = Hold.objects.get()
    response = browser_client.post(f"/checkout/{hold.pk}/release/")
    assert response["Location"] == f"/e/{event.slug}/"
    assert EventSeat.objects.filter(id__in=ids, status="available").count() == 2


def test_checkout_of_someone_elses_or_expired_hold(browser_client, event):
    take_seats(browser_client, event, seat_ids(event)[:1])
    hold = Hold.objects.get()
    assert Client().get(f"/checkout/{hold.pk}/").status_code == 404
    Hold.objects.filter(pk=hold.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    page = browser_client.get(f"/checkout/{hold.pk}/")
    assert 'id="expired"' in page.content.decode()
    late = browser_client.post(f"/checkout/{hold.pk}/", {"email": "a@example.kz", "name": "A"})
    assert late.status_code == 410
    assert Order.objects.count() == 0
