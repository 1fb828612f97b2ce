from __future__ import annotations

import re

import pytest
from django.core.management import call_command

from events.models import Event, EventSeat, Section
from events.selectors import event_availability_forget
from events.tests.factories import make_event
from ticketing.cookies import pass_cookie


def test_event_list_shows_public_events(client, small_event):
    make_event(venue=small_event.venue, slug="secret", status=Event.Status.DRAFT)
    page = client.get("/").content.decode()
    assert "/e/small-show/" in page and "/e/secret/" not in page


def test_event_page_draws_the_map_prices_and_best_available_form(client, small_event):
    EventSeat.objects.filter(section__code="A", event=small_event).update(status="sold")
    response = client.get("/e/small-show/", HTTP_ACCEPT_LANGUAGE="en")
    page = response.content.decode()
    assert response.status_code == 200
    assert page.count("<polygon") == 3
    arc = Section.objects.get(venue=small_event.venue, code="A")
    assert re.search(rf'class="map-section sold-out">\s*<title>[^<]*</title>\s*<polygon[^>]*'
                     rf'data-section="{arc.pk}"', page)  # fmt: skip
    assert f'href="/e/small-show/s/{arc.pk}/"' in page
    assert 'fill="#ff0000"' in page  # grid section in its tier colour
    assert "KZT\u00a030,000" in page  # one money format (ticketing/money.py)
    # Web buyers see the partner presale; the buy form appears once they may buy.
    assert "Presale for partner customers" in page
    assert 'action="/e/small-show/hold/"' not in page


def test_best_available_form_follows_the_forms_contract(client, small_event):
    small_event.phases.filter(name="Presale").update(channels=["web"])
    page = client.get("/e/small-show/").content.decode()
    form = re.search(r'<form method="post" action="/e/small-show/hold/".*?</form>', page, re.S)
    assert form, page
    html = form.group(0)
    assert 'name="csrfmiddlewaretoken"' in html
    assert 'name="best_quantity"' in html and 'name="tier"' in html
    assert html.count("<option") == 4 + 1 + 3  # limit 4, "any" + 3 tiers


def test_section_page_draws_seats_with_checkboxes(client, small_event):
    small_event.phases.filter(name="Presale").update(channels=["web"])
    grid = Section.objects.get(venue=small_event.venue, code="G")
    sold = EventSeat.objects.filter(section=grid).order_by("pk").first()
    EventSeat.objects.filter(pk=sold.pk).update(status="sold")
    page = client.get(f"/e/small-show/s/{grid.pk}/").content.decode()
    assert page.count("<circle") == 12
    assert page.count('name="seats"') == 11
    assert f'value="{sold.pk}"' not in page
    assert 'cx="80.0" cy="40.0"' in page  # never localised to "80,0"
    assert 'action="/e/small-show/hold/"' in page and "csrfmiddlewaretoken" in page


def test_standing_section_page_offers_a_quantity(client, small_event):
    small_event.phases.filter(name="Presale").update(channels=["web"])
    floor = Section.objects.get(venue=small_event.venue, code="S")
    page = client.get(f"/e/small-show/s/{floor.pk}/").content.decode()
    assert f'name="standing_section" value="{floor.pk}"' in page
    assert 'name="quantity"' in page and 'max="4"' in page


@pytest.mark.parametrize("url", ["/e/nope/", "/e/small-show/s/999999/"])
def test_unknown_event_or_section_is_404(client, small_event, url):
    assert client.get(url).status_code == 404


def test_section_of_another_venue_is_404(client, small_event, small_spec):
    from events.services import venue_create_from_spec

    small_spec["venue"]["slug"] = "other-hall"
    other = venue_create_from_spec(spec=small_spec).sections.first()
    assert client.get(f"/e/small-show/s/{other.pk}/").status_code == 404


@pytest.mark.slow
def test_event_page_of_the_28k_stadium_takes_at_most_10_queries(
    client, db, settings, tmp_path, django_assert_max_num_queries, django_user_model
):
    settings.DATA_DIR = tmp_path  # the demo's partner key file goes here
    call_command("demo_load")
    event = Event.objects.get(slug="backstreet-boys-almaty")
    event_availability_forget(event_id=event.pk)
    with django_assert_max_num_queries(10):
        response = client.get("/e/backstreet-boys-almaty/")
    assert response.status_code == 200
    assert response.content.decode().count("<polygon") == 25
    client.force_login(django_user_model.objects.create_user("buyer", password="x"))
    with django_assert_max_num_queries(10):
        assert client.get("/e/backstreet-boys-almaty/").status_code == 200  # session + user
    section = Section.objects.get(venue=event.venue, code="U06")
    page = client.get(f"/e/backstreet-boys-almaty/s/{section.pk}/").content.decode()
    assert page.count("<circle") == 990


@pytest.mark.parametrize(
    ("language", "text"), [("ru", "Выберите сектор"), ("kk", "Секторды таңдаңыз"), ("en", "Choose")]
)
def test_event_page_speaks_russian_kazakh_and_english(client, small_event, language, text):
    page = client.get("/e/small-show/", HTTP_ACCEPT_LANGUAGE=language).content.decode()
    assert text in page


def test_section_page_offers_best_available_within_the_section(client, small_event):
    small_event.phases.filter(name="Presale").update(channels=["web"])
    grid = Section.objects.get(venue=small_event.venue, code="G")
    page = client.get(f"/e/small-show/s/{grid.pk}/").content.decode()
    form = re.search(r'<form[^>]*class="card best-in-section".*?</form>', page, re.S).group(0)
    assert f'name="section" value="{grid.pk}"' in form and 'name="best_quantity"' in form


def test_event_map_is_cropped_to_the_drawing(client, small_event):
    page = client.get("/e/small-show/").content.decode()
    view_box = re.search(r'class="stadium-map" viewBox="([^"]+)"', page).group(1)
    left, top, width, height = (float(v) for v in view_box.split())
    assert left < 10 and top < 0 and left + width > 152  # stage at y=0, standing x=10, arc x<=152
    assert width < 260 and height < 260


def test_a_guarded_sale_sends_visitors_to_the_waiting_room_until_they_hold_a_pass(
    client, small_event
):
    from events.models import SalePhase

    SalePhase.objects.filter(event=small_event, name="Presale").update(channels=["web"])
    url = f"/e/{small_event.slug}/"
    body = client.get(url).content.decode()
    assert f'href="/e/{small_event.slug}/queue/"' in body
    client.cookies[pass_cookie(small_event.pk)] = "a-pass"
    assert f'href="/e/{small_event.slug}/queue/"' not in client.get(url).content.decode()


@pytest.mark.parametrize(
    ("language", "rule"),
    [
        ("ru", "Принимаются только такие карты: платёжные системы: Visa; "
               "карты, начинающиеся с 440043."),  # noqa: RUF001 (the Russian word)
        ("kk", "Тек мына карталар қабылданады: төлем жүйелері: Visa; "
               "440043 деп басталатын карталар."),
        ("en", "Only these cards are accepted: brands: Visa; cards starting with 440043."),
    ],
)  # fmt: skip
def test_the_presale_pages_name_its_card_rule_before_the_gateway(db, client, language, rule):
    """The demo's Visa presale: the event and section pages say which cards pay, in
    the words of the payment page (the buyer learnt it only there, after checkout)."""
    from html import unescape

    from events.demo import presale_demo_load

    event = presale_demo_load()
    page = client.get(f"/e/{event.slug}/", HTTP_ACCEPT_LANGUAGE=language)
    assert page.status_code == 200
    notice = re.search(r'id="phase-status">(.*?)</p>', page.content.decode(), re.S).group(1)
    assert rule in " ".join(unescape(re.sub(r"<[^>]+>", " ", notice)).split())
    section = Section.objects.filter(venue=event.venue, kind=Section.Kind.SEATED).first()
    body = client.get(f"/e/{event.slug}/s/{section.pk}/", HTTP_ACCEPT_LANGUAGE=language)
    found = re.search(r"data-card-rule>([^<]*)<", body.content.decode())
    assert found and unescape(found.group(1)) == rule


def test_a_sale_for_any_card_names_no_card_rule(client, small_event):
    small_event.phases.filter(name="Presale").update(
        channels=["web"], card_brands=[], card_bin_prefixes=[]
    )
    assert "data-card-rule" not in client.get("/e/small-show/").content.decode()
