"""One person, one place across channels: the same verified phone in a
partner's app (buyer_ref + phone_sha256) and signed in on the site is one
buyer for the waiting room and the per-buyer limit."""

from __future__ import annotations

import hashlib
import re
import time

import pytest
from django.test import Client

from accounts.selectors import phone_key, phone_sha256_of
from accounts.sms import FileSmsBackend
from api.models import Partner
from api.services import api_key_create
from events.models import EventSeat
from orders.models import Hold
from orders.tests.factories import guard_with_waiting_room, make_event, race, seat_ids
from queueing import state

pytestmark = pytest.mark.django_db

PHONE = "+77012345678"
PHONE_SHA256 = hashlib.sha256(PHONE.encode()).hexdigest()


@pytest.fixture(autouse=True)
def _sms_to_files(settings, tmp_path):
    settings.SMS_BACKEND = "accounts.sms.FileSmsBackend"
    settings.SMS_FILE_PATH = str(tmp_path / "sms")


@pytest.fixture
def app(db):
    """An APIClient-like Django client with the partner app's key."""
    partner = Partner.objects.create(slug="bank", name="Bank")
    _, raw = api_key_create(partner=partner, scopes=["catalog", "sell"])
    return {"HTTP_AUTHORIZATION": f"Api-Key {raw}"}


def signed_in_by_sms(settings, django_capture_on_commit_callbacks, phone_typed="8 701 234 56 78"):
    """A browser signed in on the site by the SMS code sent to PHONE."""
    site = Client()
    with django_capture_on_commit_callbacks(execute=True):
        response = site.post("/account/signin/", {"identity": phone_typed})
    assert response.status_code == 302, response.content
    text = FileSmsBackend(settings.SMS_FILE_PATH).messages(PHONE)[-1]["text"]
    code = re.search(r"\b(\d{6})\b", text).group(1)
    with django_capture_on_commit_callbacks(execute=True):
        response = site.post("/account/signin/code/", {"code": code})
    assert response.status_code == 302 and "_auth_user_id" in site.session
    return site


def post(client, url, body, **extra):
    return client.post(url, body, content_type="application/json", **extra)


def test_phone_sha256_is_of_the_e164_form_and_the_key_is_peppered(settings):
    assert phone_sha256_of(PHONE) == PHONE_SHA256
    key = phone_key(phone_sha256=PHONE_SHA256)
    assert key.startswith("phone:") and PHONE_SHA256 not in key and "7012345678" not in key
    settings.BUYER_PHONE_KEY = "another pepper"
    assert phone_key(phone_sha256=PHONE_SHA256) != key


def test_the_same_phone_getting_one_place_from_the_app_and_the_site(
    app, settings, django_capture_on_commit_callbacks
):
    """Signed in on the site with the phone, and the bank's customer with it:
    one number, one pass, and one limit of 6 counted across both channels."""
    event = make_event(limit=6)
    room = guard_with_waiting_room(event)
    join = f"/api/v1/events/{event.slug}/queue/join/"
    post(Client(), join, {})  # someone else: number 1
    site = signed_in_by_sms(settings, django_capture_on_commit_callbacks)
    on_site = post(site, join, {}).json()
    in_app = post(Client(), join, {"buyer_ref": "cust-9", "phone_sha256": PHONE_SHA256}, **app)
    in_app = in_app.json()
    other = post(Client(), join, {"buyer_ref": "cust-9"}, **app).json()  # no phone: another
    assert on_site["number"] == in_app["number"] == 2
    assert other["number"] == 3
    key = phone_key(phone_sha256=PHONE_SHA256)
    assert state.conn().hget(state.keys(room.pk)["map"], key) == b"2"

    # Admitted: both channels' status calls answer with a pass for the one visitor.
    state.conn().hset(state.keys(room.pk)["st"], "serving", 2)
    state.conn().zadd(state.keys(room.pk)["pend"], {2: time.time()})
    status = "/api/v1/queue/status/"
    site_pass = site.get(status, HTTP_X_QUEUE_TOKEN=on_site["token"]).json()["pass"]
    app_pass = Client().get(status, HTTP_X_QUEUE_TOKEN=in_app["token"]).json()["pass"]

    ids = seat_ids(event)
    held = post(site, "/api/v1/holds/", {"event": event.slug, "seats": ids[:4]},
                HTTP_X_QUEUE_PASS=site_pass)  # fmt: skip
    assert held.status_code == 201, held.content
    body = {"event": event.slug, "seats": ids[4:7], "buyer_ref": "cust-9",
            "phone_sha256": PHONE_SHA256}  # fmt: skip
    refused = post(Client(), "/api/v1/holds/", body, HTTP_X_QUEUE_PASS=app_pass, **app)
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "limit_exceeded"
    body["seats"] = ids[4:6]
    taken = post(Client(), "/api/v1/holds/", body, HTTP_X_QUEUE_PASS=app_pass, **app)
    assert taken.status_code == 201, taken.content
    assert set(Hold.objects.values_list("buyer_key", flat=True)) == {key}
    assert set(Hold.objects.values_list("channel", flat=True)) == {"web", "partner:bank"}
    assert EventSeat.objects.filter(event=event, status="held").count() == 6
    # The partner sees its own hold, not the site's (same person, other channel).
    site_hold = Hold.objects.get(channel="web")
    read = Client().get(f"/api/v1/holds/{site_hold.pk}/", **app)
    assert read.status_code == 404


def test_phone_sha256_needs_a_buyer_ref_and_the_right_form(app, settings):
    event = make_event()
    guard_with_waiting_room(event)
    join = f"/api/v1/events/{event.slug}/queue/join/"
    alone = post(Client(), join, {"phone_sha256": PHONE_SHA256}, **app)
    assert alone.status_code == 400 and "phone_sha256" in alone.json()["error"]["details"]
    for bad in (PHONE, PHONE_SHA256.upper(), PHONE_SHA256[:-1], PHONE_SHA256[:-1] + "g"):
        response = post(Client(), join, {"buyer_ref": "c", "phone_sha256": bad}, **app)
        assert response.status_code == 400, bad
        assert "phone_sha256" in response.json()["error"]["details"]


def test_a_browser_cannot_claim_a_phone(app):
    """buyer_ref and phone_sha256 are for partner keys: a guest's are ignored."""
    event = make_event()
    guard_with_waiting_room(event)
    join = f"/api/v1/events/{event.slug}/queue/join/"
    post(Client(), join, {"buyer_ref": "cust-9", "phone_sha256": PHONE_SHA256}, **app)
    guest = post(Client(), join, {"buyer_ref": "cust-9", "phone_sha256": PHONE_SHA256}).json()
    assert guest["number"] == 2


@pytest.mark.django_db(transaction=True)
def test_site_and_app_racing_for_one_phone_never_exceed_the_limit(settings):
    """Holds of one phone from the site (signed in) and the app at once: the
    buyer's lock is the phone's key, so together they stay within 6."""
    from django.contrib.auth import get_user_model

    from accounts.models import Profile
    from accounts.selectors import Buyer
    from orders.exceptions import LimitExceeded
    from orders.services.holds import hold_create

    event = make_event(rows=12, per_row=10, limit=6)
    ids = seat_ids(event)
    user = get_user_model().objects.create_user("phone-user")
    Profile.objects.create(user=user, phone=PHONE)
    key = phone_key(phone_sha256=PHONE_SHA256)
    partner = Partner.objects.create(slug="bank", name="Bank")
    site = Buyer(channel="web", key=key, user_id=user.pk)
    app_buyer = Buyer(channel="partner:bank", key=key, partner_id=partner.pk)
    racers = 12
    picks = [ids[2 * i : 2 * i + 2] for i in range(racers)]

    def take(i: int):
        return hold_create(event=event, buyer=site if i % 2 else app_buyer, seats=picks[i])

    results = race(racers, take)
    assert all(isinstance(r, Hold | LimitExceeded) for r in results), results
    holds = [r for r in results if isinstance(r, Hold)]
    assert sum(h.quantity for h in holds) == 6  # three pairs, whichever channels won
    assert EventSeat.objects.filter(event=event, status="held").count() == 6
