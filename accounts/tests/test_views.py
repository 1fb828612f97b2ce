from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from accounts.models import OneTimeCode, Profile
from accounts.tests.factories import PHONE

User = get_user_model()
pytestmark = pytest.mark.django_db

SIGNIN = "/account/signin/"
CODE = "/account/signin/code/"


def _sign_in_by_phone(client, post, sms_code, raw="8 701 234 56 78"):
    response = post(client, SIGNIN, {"identity": raw})
    assert response.status_code == 302 and response["Location"] == CODE
    return post(client, CODE, {"code": sms_code()})


def test_full_sign_in_by_phone(client, post, sms_code):
    page = client.get(SIGNIN)
    assert page.status_code == 200
    assert b"csrfmiddlewaretoken" in page.content
    response = post(client, SIGNIN, {"identity": "8 701 234 56 78"})
    assert response.status_code == 302
    code_page = client.get(CODE)
    assert "+7 701 234 5678" in code_page.content.decode()
    assert b'autocomplete="one-time-code"' in code_page.content
    response = post(client, CODE, {"code": sms_code()})
    assert response.status_code == 302
    assert response["Location"] == "/account/tickets/"
    user = Profile.objects.get(phone=PHONE).user
    assert client.session["_auth_user_id"] == str(user.pk)
    assert client.get("/account/tickets/").status_code == 200


def test_full_sign_in_by_email_returns_to_next(client, post, mail_code):
    response = post(client, SIGNIN + "?next=/events/concert/", {"identity": "Buyer@Example.com"})
    assert response.status_code == 302
    response = post(client, CODE, {"code": mail_code("buyer@example.com")})
    assert response["Location"] == "/events/concert/"
    profile = Profile.objects.get(email="buyer@example.com")
    assert profile.user.email == "buyer@example.com"
    assert profile.phone is None


def test_next_to_another_site_is_ignored(client, post, sms_code):
    post(client, SIGNIN, {"identity": PHONE, "next": "https://evil.example/steal"})
    response = post(client, CODE, {"code": sms_code()})
    assert response["Location"] == "/account/tickets/"


def test_invalid_phone_shows_a_clear_message(client, post):
    response = post(client, SIGNIN, {"identity": "12345"})
    assert response.status_code == 400
    assert b"This phone number is not valid" in response.content
    assert OneTimeCode.objects.count() == 0
    assert client.get(CODE).status_code == 302  # no pending sign-in


def test_wrong_code_shows_attempts_left_and_changes_nothing(client, post, sms_code):
    post(client, SIGNIN, {"identity": PHONE})
    wrong = f"{(int(sms_code()) + 1) % 10**6:06d}"
    response = post(client, CODE, {"code": wrong})
    assert response.status_code == 400
    assert b"The code is wrong. 4 attempts left." in response.content
    assert User.objects.count() == 0
    assert "_auth_user_id" not in client.session


def test_expired_code_page_says_so(client, post, sms_code):
    post(client, SIGNIN, {"identity": PHONE})
    OneTimeCode.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    response = post(client, CODE, {"code": sms_code()})
    assert response.status_code == 400
    assert b"The code has expired. Request a new one." in response.content
    assert User.objects.count() == 0


def test_too_many_attempts_page_says_so(client, post, sms_code):
    post(client, SIGNIN, {"identity": PHONE})
    code = sms_code()
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    for _ in range(5):
        response = post(client, CODE, {"code": wrong})
    assert b"Too many wrong attempts" in response.content
    response = post(client, CODE, {"code": code})
    assert b"Too many wrong attempts" in response.content
    assert User.objects.count() == 0


def test_resend_too_soon_answers_429_with_retry_after(client, post):
    post(client, SIGNIN, {"identity": PHONE})
    response = post(client, SIGNIN, {"identity": PHONE})
    assert response.status_code == 429
    assert 55 <= int(response["Retry-After"]) <= 60
    assert b"You can request a new one in" in response.content
    assert OneTimeCode.objects.count() == 1


def test_per_ip_limit_on_the_page(client, post, settings):
    settings.OTP_PER_IP_HOUR = 2
    post(client, SIGNIN, {"identity": "+77012345600"})
    post(client, SIGNIN, {"identity": "+77012345601"})
    response = post(client, SIGNIN, {"identity": "+77012345602"})
    assert response.status_code == 429
    assert b"from your network" in response.content


def test_forms_require_csrf(post):
    strict = Client(enforce_csrf_checks=True)
    assert post(strict, SIGNIN, {"identity": PHONE}).status_code == 403
    assert OneTimeCode.objects.count() == 0


def test_signout_needs_post(client, post, sms_code):
    _sign_in_by_phone(client, post, sms_code)
    assert client.get("/account/signout/").status_code == 405
    assert client.post("/account/signout/").status_code == 302
    assert "_auth_user_id" not in client.session


def test_sign_out_everywhere_ends_other_sessions(post, sms_code, settings):
    settings.OTP_RESEND_SECONDS = 0
    phone, laptop = Client(), Client()
    _sign_in_by_phone(phone, post, sms_code)
    _sign_in_by_phone(laptop, post, sms_code)
    assert phone.get("/account/tickets/").status_code == 200
    assert laptop.get("/account/tickets/").status_code == 200
    response = laptop.post("/account/signout/everywhere/")
    assert response.status_code == 302
    assert laptop.get("/account/tickets/").status_code == 302
    response = phone.get("/account/tickets/")
    assert response.status_code == 302
    assert response["Location"].startswith("/account/signin/")
    # Signing in again works and is not affected by the old epoch.
    _sign_in_by_phone(phone, post, sms_code)
    assert phone.get("/account/tickets/").status_code == 200


def test_staff_login_via_test_client_still_works(client, django_user_model):
    user = django_user_model.objects.create(username="staff", is_staff=True)
    client.force_login(user)
    assert client.get("/account/tickets/").status_code == 200


def test_tickets_page_requires_sign_in(client):
    response = client.get("/account/tickets/")
    assert response.status_code == 302
    assert response["Location"] == "/account/signin/?next=/account/tickets/"


def _order_for(user, *, code="ABC123", email="buyer@example.com"):
    from events.factories import event_build
    from events.models import Event
    from orders.models import Hold, Order, Ticket

    now = timezone.now()
    # One event (a fan zone of 100 at 15000) for all the orders of a test.
    event = Event.objects.filter(slug="concert").first() or event_build(
        seats=0,
        standing=100,
        tier_name="Fan",
        price="15000",
        slug="concert",
        title="Big Concert",
        status=Event.Status.DRAFT,
        opened_ago=timedelta(days=1),
    )
    tier, area, phase = event.tiers.get(), event.standing_areas.get(), event.phases.get()
    hold = Hold.objects.create(
        event=event, phase=phase, buyer_key="x", channel="web", quantity=1,
        total=Decimal("15000"), currency="KZT", expires_at=now, status="converted",
    )  # fmt: skip
    order = Order.objects.create(
        code=code, access_token=code * 3, event=event, phase=phase, hold=hold, buyer_key="x",
        channel="web", user=user, email=email, name="A", status="paid", quantity=1,
        total=Decimal("15000"), currency="KZT", expires_at=now,
    )  # fmt: skip
    Ticket.objects.create(
        order=order, event=event, standing_area=area, tier=tier, price=Decimal("15000"),
        code=f"TICKET{code}",
    )  # fmt: skip
    return order


def test_my_tickets_lists_only_my_orders_with_their_tickets(client, post, sms_code):
    _sign_in_by_phone(client, post, sms_code)
    me = Profile.objects.get(phone=PHONE).user
    _order_for(me, code="MINE01")
    other = User.objects.create(username="other")
    _order_for(other, code="THEIRS")
    response = client.get("/account/tickets/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "MINE01" in body and "TICKETMINE01" in body and "Big Concert" in body
    # Where to go and which place: the venue, and the ticket's section and tier.
    assert "Arena" in body and "Fan zone (Fan)" in body
    assert "THEIRS" not in body
    assert "<svg" in body  # the ticket's QR


def test_orders_for_user_is_empty_for_guests():
    from django.contrib.auth.models import AnonymousUser

    from orders.selectors import orders_for_user

    assert list(orders_for_user(AnonymousUser())) == []


class _BrokenGateway:
    def send(self, *, phone, text):
        raise OSError("gateway down")


def test_a_gateway_outage_is_logged_not_a_500(client, post, settings, caplog):
    settings.SMS_BACKEND = "accounts.tests.test_views._BrokenGateway"
    response = post(client, SIGNIN, {"identity": PHONE})
    assert response.status_code == 302
    assert "gateway down" in caplog.text


def test_resend_from_the_code_page(client, post, sms_code, settings):
    post(client, SIGNIN, {"identity": PHONE})
    first = OneTimeCode.objects.get()
    response = post(client, "/account/signin/code/resend/", {})
    assert response.status_code == 429  # within the minute: told on the code page
    assert b"You can request a new one in" in response.content
    assert b'autocomplete="one-time-code"' in response.content
    settings.OTP_RESEND_SECONDS = 0
    response = post(client, "/account/signin/code/resend/", {})
    assert response["Location"] == CODE
    assert OneTimeCode.objects.exclude(pk=first.pk).count() == 1
    assert post(client, CODE, {"code": sms_code()})["Location"] == "/account/tickets/"


def test_resend_without_a_pending_sign_in_goes_to_the_start(client):
    assert client.post("/account/signin/code/resend/")["Location"] == SIGNIN


def test_my_tickets_queries_do_not_grow_with_orders(client, post, sms_code):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    _sign_in_by_phone(client, post, sms_code)
    me = Profile.objects.get(phone=PHONE).user
    _order_for(me, code="ONE001")
    with CaptureQueriesContext(connection) as one:
        client.get("/account/tickets/")
    for n in range(2, 6):
        _order_for(me, code=f"MANY0{n}")
    with CaptureQueriesContext(connection) as five:
        assert client.get("/account/tickets/").content.count(b"<svg") == 5
    assert len(five) == len(one)


@pytest.mark.parametrize("typo", ["12345", "1234567", "12345a", "١٢٣٤٥٦"])
def test_malformed_code_is_refused_without_spending_an_attempt(client, post, typo):
    post(client, SIGNIN, {"identity": PHONE})
    response = post(client, CODE, {"code": typo})
    assert response.status_code == 200
    assert b"Enter the 6 digits from the message." in response.content
    assert OneTimeCode.objects.get().attempts == 0


def test_code_with_spaces_is_accepted(client, post, sms_code):
    post(client, SIGNIN, {"identity": PHONE})
    code = sms_code()
    response = post(client, CODE, {"code": f" {code[:3]} {code[3:]} "})
    assert response["Location"] == "/account/tickets/"


def test_guest_orders_are_attached_on_sign_in_by_email(client, post, mail_code):
    """Orders placed as a guest with this e-mail appear in "my tickets" once it is verified."""
    guest = _order_for(None, code="GUEST1", email="Buyer@Example.com")
    someone_elses = _order_for(
        User.objects.create(username="other"), code="OTHER1", email="buyer@example.com"
    )
    stranger = _order_for(None, code="STRNG1", email="stranger@example.com")
    post(client, SIGNIN, {"identity": "buyer@example.com"})
    post(client, CODE, {"code": mail_code("buyer@example.com")})
    me = Profile.objects.get(email="buyer@example.com").user
    for order in (guest, someone_elses, stranger):
        order.refresh_from_db()
    assert guest.user == me
    assert someone_elses.user.username == "other"  # never re-assigned
    assert stranger.user is None
    body = client.get("/account/tickets/").content.decode()
    assert "GUEST1" in body and "OTHER1" not in body and "STRNG1" not in body


def test_guest_orders_are_attached_on_sign_in_by_phone(client, post, sms_code):
    guest = _order_for(None, code="GUEST2")
    guest.phone = PHONE
    guest.save(update_fields=["phone"])
    _sign_in_by_phone(client, post, sms_code)
    guest.refresh_from_db()
    assert guest.user == Profile.objects.get(phone=PHONE).user


def test_a_wrong_code_attaches_nothing(client, post, mail_code):
    guest = _order_for(None, code="GUEST3")
    post(client, SIGNIN, {"identity": "buyer@example.com"})
    mail_code("buyer@example.com")
    post(client, CODE, {"code": "000000"})
    guest.refresh_from_db()
    assert guest.user is None


def test_the_header_sign_in_link_returns_to_the_page_it_was_on(client, post, sms_code):
    """A buyer in the middle of a purchase signs in from the header and comes
    back to where they were, not to "My tickets"."""
    home = client.get("/?q=1").content.decode()
    assert 'href="/account/signin/?next=/%3Fq%3D1"' in home
    response = post(client, SIGNIN + "?next=/%3Fq%3D1", {"identity": "8 701 234 56 78"})
    assert response.status_code == 302
    response = post(client, CODE, {"code": sms_code()})
    assert response["Location"] == "/?q=1"
    # On the sign-in page itself the link does not point back at itself.
    assert 'href="/account/signin/"' in Client().get(SIGNIN).content.decode()
