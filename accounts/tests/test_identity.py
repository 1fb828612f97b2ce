"""The one buyer identity (accounts.selectors.buyer_identity) and the signed
device cookie behind its third case."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core import signing
from django.http import HttpResponse
from django.test import RequestFactory
from django.utils.functional import SimpleLazyObject

from accounts.middleware import COOKIE, SALT, DeviceCookieMiddleware, SessionEpochMiddleware
from accounts.models import Profile
from accounts.selectors import (
    PARTNER_CUSTOMER_SESSION_KEY,
    Buyer,
    buyer_identity,
    phone_key,
    phone_sha256_of,
)
from api.models import Partner

pytestmark = pytest.mark.django_db


def _through_device_middleware(cookie: str | None = None):
    request = RequestFactory().get("/")
    if cookie is not None:
        request.COOKIES[COOKIE] = cookie
    seen = {}

    def view(req):
        seen["request"] = req
        return HttpResponse("ok")

    response = DeviceCookieMiddleware(view)(request)
    return seen["request"], response


def _request(*, user=None, partner=None, device_id="dev1"):
    request = RequestFactory().get("/")
    request.user = user or AnonymousUser()
    if partner is not None:
        request.partner = partner
    request.device_id = device_id
    return request


def test_signed_in_account_wins(django_user_model):
    user = django_user_model.objects.create(username="a")
    buyer = buyer_identity(_request(user=user), buyer_ref="ignored")
    assert buyer == Buyer(channel="web", key=f"user:{user.pk}", user_id=user.pk)


def test_partner_customer_ref_identifies_an_api_buyer():
    partner = Partner.objects.create(slug="halyk", name="Halyk")
    buyer = buyer_identity(_request(partner=partner), buyer_ref="cust-42")
    assert buyer == Buyer(
        channel="partner:halyk",
        key="partner:halyk:cust-42",
        partner_id=partner.pk,
        partner_ref="partner:halyk:cust-42",
    )


def test_an_account_with_a_phone_is_the_buyer_a_partner_names_with_it(django_user_model):
    user = django_user_model.objects.create_user("by-phone")
    Profile.objects.create(user=user, phone="+77012345678")
    site = buyer_identity(_request(user=django_user_model.objects.get(pk=user.pk)))
    partner = Partner.objects.create(slug="halyk", name="Halyk")
    app = buyer_identity(
        _request(partner=partner), buyer_ref="c1", phone_sha256=phone_sha256_of("+77012345678")
    )
    assert site.key == app.key == phone_key(phone_sha256=phone_sha256_of("+77012345678"))
    assert (site.channel, app.channel) == ("web", "partner:halyk")
    assert app.partner_ref == "partner:halyk:c1"
    other = buyer_identity(
        _request(partner=partner), buyer_ref="c1", phone_sha256=phone_sha256_of("+77012345679")
    )
    assert other.key != app.key


def test_a_webview_session_is_the_partners_customer_and_ignores_buyer_ref():
    request = _request()
    request.session = {
        PARTNER_CUSTOMER_SESSION_KEY: {"partner": 5, "slug": "bank", "ref": "c1", "phone": ""}
    }
    buyer = buyer_identity(request, buyer_ref="someone-else", phone_sha256="0" * 64)
    assert buyer == Buyer(
        channel="partner:bank",
        key="partner:bank:c1",
        partner_id=5,
        partner_customer=True,
        partner_ref="partner:bank:c1",
    )


def test_partner_refs_of_two_partners_never_collide():
    a = Partner.objects.create(slug="a", name="A")
    b = Partner.objects.create(slug="b", name="B")
    assert (
        buyer_identity(_request(partner=a), buyer_ref="1").key
        != buyer_identity(_request(partner=b), buyer_ref="1").key
    )


def test_guest_is_the_signed_device_cookie():
    assert buyer_identity(_request(device_id="d-77")) == Buyer(channel="web", key="device:d-77")


def test_a_browser_cannot_claim_an_identity_with_buyer_ref():
    assert buyer_identity(_request(device_id="d-1"), buyer_ref="cust-42").key == "device:d-1"


def test_partner_without_ref_falls_back_to_the_device():
    partner = Partner.objects.create(slug="halyk", name="Halyk")
    buyer = buyer_identity(_request(partner=partner, device_id="d-2"))
    assert buyer.key == "device:d-2" and buyer.channel == "partner:halyk"


def test_new_browser_gets_a_signed_device_cookie():
    request, response = _through_device_middleware()
    cookie = response.cookies[COOKIE]
    assert signing.loads(cookie.value, salt=SALT) == request.device_id
    assert cookie["httponly"] and cookie["samesite"] == "Lax"


def test_valid_cookie_keeps_its_id_and_writes_nothing():
    first, response = _through_device_middleware()
    again, second = _through_device_middleware(response.cookies[COOKIE].value)
    assert again.device_id == first.device_id
    assert COOKIE not in second.cookies


@pytest.mark.parametrize(
    "forged",
    [
        "victim-device-id",
        signing.dumps("victim", salt="another.salt"),
        signing.dumps("victim", salt=SALT)[:-2] + "xx",
        signing.dumps(["not", "a", "string"], salt=SALT),
    ],
    # The signed values carry a timestamp: ids that are the same in every
    # xdist worker's collection.
    ids=["unsigned", "other-salt", "bad-signature", "not-a-string"],
)
def test_forged_device_cookie_is_replaced(forged):
    request, response = _through_device_middleware(forged)
    assert request.device_id != "victim"
    assert request.device_id != "victim-device-id"
    assert isinstance(request.device_id, str)
    assert signing.loads(response.cookies[COOKIE].value, salt=SALT) == request.device_id


def test_session_epoch_check_is_lazy():
    """Requests that never read request.user (queue polls) cost no query."""
    request = RequestFactory().get("/")
    request.user = SimpleLazyObject(lambda: pytest.fail("user was resolved"))
    response = SessionEpochMiddleware(lambda req: HttpResponse("ok"))(request)
    assert response.status_code == 200
