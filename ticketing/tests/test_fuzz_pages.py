"""Property-based fuzz of the buyer's forms (issue 15): Hypothesis posts
arbitrary text into the hold form, the checkout contact form, the sign-in
forms and the waiting room's join, cookies included; whatever is sent, the
answer is a page or a redirect, never a 5xx. Bounded: a few seconds each."""

from __future__ import annotations

import pytest
from django.test import Client
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from orders.tests.factories import guard_with_waiting_room, make_event
from ticketing.cookies import pass_cookie

FORMS = hypothesis_settings(
    max_examples=40,
    derandomize=True,  # the same examples on every run
    deadline=None,
    # One database and one event for all examples of a test, on purpose.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    database=None,
)
# Any text a form can carry: every plane, control characters and NUL included
# (only lone surrogates cannot be encoded, so no browser sends them), mixed
# with what the fields expect so that deeper branches run too.
TEXT = st.one_of(
    st.text(st.characters(exclude_categories=["Cs"]), max_size=40),
    st.from_regex(r"\A[0-9]{1,25}\Z"),
    st.sampled_from(["", " ", "0", "-1", "1e3", "²", "١٢", "a@b.kz", "+7 701 234 5678"]),
)
OPTIONAL = st.one_of(st.none(), TEXT)
# Number fields get, besides any text, what str.isdigit() takes and int() may
# not: other scripts' digits and superscripts.
DIGITS = st.one_of(
    st.sampled_from(["\u00b2", "\u0661\u0662", "\U0001d7d9", "\u2460", "\u00bd", "7"]), TEXT
)
NUMBER = st.one_of(st.none(), DIGITS)
# A cookie reaches Django as latin-1 (WSGI), whatever bytes the browser sent.
COOKIE = st.one_of(st.none(), st.text(st.characters(max_codepoint=255), max_size=200))


def _fields(**values) -> dict:
    return {name: value for name, value in values.items() if value is not None}


def assert_answered(response) -> None:
    assert response.status_code < 500, response.content[:500]


@pytest.fixture
def event(db):
    return make_event(standing=1000, limit=1000)


def test_the_hold_form_never_500s(event):
    @FORMS
    @given(
        seats=st.lists(DIGITS, max_size=3),
        best_quantity=NUMBER, tier=NUMBER, section=NUMBER,
        standing_section=NUMBER, quantity=NUMBER, access_code=OPTIONAL, queue_pass=COOKIE,
    )  # fmt: skip
    def post(seats, queue_pass, **values):
        client = Client()  # a new device each time: no per-buyer limit in the way
        if queue_pass is not None:
            client.cookies[pass_cookie(event.pk)] = queue_pass
        response = client.post(f"/e/{event.slug}/hold/", {"seats": seats, **_fields(**values)})
        assert_answered(response)

    post()


def test_the_checkout_contact_form_never_500s(event):
    standing = event.venue.sections.get(kind="standing").pk

    @FORMS
    @given(email=OPTIONAL, name=OPTIONAL, phone=OPTIONAL)
    def post(**values):
        client = APIClient()
        body = {"event": event.slug, "standing": {"section": standing, "quantity": 1}}
        hold = client.post("/api/v1/holds/", body, format="json")
        assert hold.status_code == 201, hold.content
        response = client.post(f"/checkout/{hold.json()['id']}/", _fields(**values))
        assert_answered(response)

    post()


def test_the_sign_in_forms_never_500(db, settings):
    settings.OTP_PER_IP_HOUR = settings.OTP_PER_IDENTITY_HOUR = 10_000

    @FORMS
    @given(identity=OPTIONAL, next_url=OPTIONAL, code=OPTIONAL)
    def post(identity, next_url, code):
        client = Client()
        assert_answered(client.post("/account/signin/", _fields(identity=identity, next=next_url)))
        assert_answered(client.post("/account/signin/code/", _fields(code=code)))
        assert_answered(client.post("/account/signin/code/resend/"))

    post()


def test_the_waiting_room_join_never_500s(event):
    room = guard_with_waiting_room(event)

    @FORMS
    @given(action=OPTIONAL, token=COOKIE)
    def post(action, token):
        client = Client()
        if token is not None:
            client.cookies[f"kassa_queue_{room.pk}"] = token
        response = client.post(f"/e/{event.slug}/queue/", _fields(action=action))
        assert_answered(response)
        assert_answered(client.get(f"/e/{event.slug}/queue/"))

    post()
