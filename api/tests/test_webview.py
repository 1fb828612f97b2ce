"""The partner's webview: one-time tokens minted by its server, spent by its
app's webview, a session as its customer, and the way back into the app."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone

from accounts.selectors import PARTNER_CUSTOMER_SESSION_KEY, phone_key
from api.models import Partner, WebviewToken, deep_link_validate
from api.services import api_key_create
from api.tests.factories import assert_error
from orders.models import Order
from orders.tests.factories import guard_with_waiting_room, make_event, order_make, race

pytestmark = pytest.mark.django_db

PHONE_SHA256 = hashlib.sha256(b"+77012345678").hexdigest()
MINT = "/api/v1/webview/tokens/"


def _partner(slug: str = "bank", **fields) -> tuple[Partner, dict]:
    fields.setdefault("webview_enabled", True)
    fields.setdefault("webview_return_link", "bankapp://kassa/orders/{code}")
    partner = Partner.objects.create(slug=slug, name=slug.title(), **fields)
    _, raw = api_key_create(partner=partner, scopes=["catalog", "sell"])
    return partner, {"HTTP_AUTHORIZATION": f"Api-Key {raw}"}


@pytest.fixture
def bank():
    return _partner()


def mint(auth: dict, **body):
    body.setdefault("buyer_ref", "cust-1")
    return Client().post(MINT, body, content_type="application/json", **auth)


def open_webview(token: str, browser: Client | None = None, **extra):
    browser = browser or Client()
    return browser, browser.get("/webview/", {"token": token, **extra.pop("query", {})}, **extra)


def test_minted_token_opens_a_session_as_the_partners_customer(bank):
    partner, auth = bank
    answer = mint(auth, event="some-show", phone_sha256=PHONE_SHA256)
    assert answer.status_code == 201, answer.content
    body = answer.json()
    assert body["url"].endswith(f"/webview/?token={body['token']}")
    row = WebviewToken.objects.get()
    assert row.token_hash != body["token"] and body["token"] not in row.token_hash
    assert row.phone_key == phone_key(phone_sha256=PHONE_SHA256)
    assert PHONE_SHA256 not in str(WebviewToken.objects.values().get())  # never stored
    browser, response = open_webview(body["token"])
    assert response.status_code == 302 and response["Location"] == "/e/some-show/"
    assert response["Referrer-Policy"] == "no-referrer"
    assert browser.session[PARTNER_CUSTOMER_SESSION_KEY] == {
        "partner": partner.pk, "slug": "bank", "ref": "cust-1", "phone": row.phone_key,
    }  # fmt: skip
    me = browser.get("/api/v1/me/").json()
    assert me["channel"] == "partner:bank" and me["partner"] is None and me["scopes"] == []


def test_the_webview_customer_is_the_buyer_the_api_names(bank):
    """Same buyer_ref + phone through the API and in the webview: one place."""
    auth = bank[1]
    event = make_event()
    guard_with_waiting_room(event)
    join = f"/api/v1/events/{event.slug}/queue/join/"
    by_api = Client().post(
        join, {"buyer_ref": "cust-1", "phone_sha256": PHONE_SHA256},
        content_type="application/json", **auth,
    ).json()  # fmt: skip
    browser, _ = open_webview(mint(auth, phone_sha256=PHONE_SHA256).json()["token"])
    # A buyer_ref sent by the page itself is ignored: the session says who it is.
    in_webview = browser.post(join, {"buyer_ref": "someone-else"}, content_type="application/json")
    assert in_webview.json()["number"] == by_api["number"] == 1
    plain, _ = open_webview(mint(auth, buyer_ref="cust-2").json()["token"])
    assert plain.post(join, {}, content_type="application/json").json()["number"] == 2


def test_an_expired_token_is_refused(bank):
    auth = bank[1]
    token = mint(auth).json()["token"]
    WebviewToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    browser, response = open_webview(token)
    assert response.status_code == 403
    assert b'data-code="webview_token_invalid"' in response.content
    assert PARTNER_CUSTOMER_SESSION_KEY not in browser.session


@pytest.mark.parametrize("forged", ["", "x" * 43, "A" * 500, "../../etc", "%00"])
def test_a_forged_token_is_refused(bank, forged):
    auth = bank[1]
    real = mint(auth).json()["token"]
    browser, response = open_webview(forged or real[:-1])
    assert response.status_code == 403
    assert PARTNER_CUSTOMER_SESSION_KEY not in browser.session


def test_a_replayed_token_is_refused(bank):
    auth = bank[1]
    token = mint(auth).json()["token"]
    assert open_webview(token)[1].status_code == 302
    thief, again = open_webview(token)
    assert again.status_code == 403
    assert PARTNER_CUSTOMER_SESSION_KEY not in thief.session


@pytest.mark.django_db(transaction=True)
def test_racing_opens_of_one_token_start_one_session():
    auth = _partner()[1]
    token = mint(auth).json()["token"]
    results = race(8, lambda i: open_webview(token)[1].status_code)
    assert sorted(results) == [302] + [403] * 7


def test_tokens_of_another_or_a_stopped_partner_do_not_open(bank):
    """The session is the minting partner's; a partner switched off (or its
    webview) can no longer open the tokens it minted."""
    partner, auth = bank
    other, other_auth = _partner("other")
    browser, _ = open_webview(mint(other_auth, buyer_ref="cust-1").json()["token"])
    assert browser.session[PARTNER_CUSTOMER_SESSION_KEY]["partner"] == other.pk
    assert browser.get("/api/v1/me/").json()["channel"] == "partner:other"
    first, second = mint(auth).json()["token"], mint(auth).json()["token"]
    Partner.objects.filter(pk=partner.pk).update(is_active=False)
    assert open_webview(first)[1].status_code == 403
    Partner.objects.filter(pk=partner.pk).update(is_active=True, webview_enabled=False)
    assert open_webview(second)[1].status_code == 403


def test_minting_needs_the_webview_enabled_and_the_sell_scope():
    partner, auth = _partner(webview_enabled=False)
    assert_error(mint(auth), 403, "webview_disabled")
    _, raw = api_key_create(partner=partner, scopes=["catalog"])
    assert_error(mint({"HTTP_AUTHORIZATION": f"Api-Key {raw}"}), 403, "insufficient_scope")
    anonymous = Client().post(MINT, {"buyer_ref": "x"}, content_type="application/json")
    assert anonymous.status_code in (401, 403) and anonymous.json()["error"]["code"]
    assert not WebviewToken.objects.exists()


@pytest.mark.parametrize(
    "bad", ["//evil.example/", "https://evil.example/", "/\\evil.example", "javascript:alert(1)",
            "evil.example", "/e/x/\r\nSet-Cookie: a=b"],
)  # fmt: skip
def test_next_is_a_path_on_this_site_only(bank, bad):
    auth = bank[1]
    error = assert_error(mint(auth, next=bad), 400, "validation_error")
    assert "next" in error["details"]
    # In the webview URL a foreign `next` falls back to the token's own path.
    token = mint(auth, next="/e/show/").json()["token"]
    _, response = open_webview(token, query={"next": bad})
    assert response.status_code == 302 and response["Location"] == "/e/show/"


def test_a_link_from_another_site_does_not_spend_or_use_the_token(bank):
    """Login CSRF: a page elsewhere linking to the webview URL gets nothing;
    the app's own open (Sec-Fetch-Site: none) still works afterwards."""
    auth = bank[1]
    token = mint(auth).json()["token"]
    for site in ("cross-site", "same-site", "same-origin"):
        browser, response = open_webview(token, HTTP_SEC_FETCH_SITE=site)
        assert response.status_code == 403
        assert PARTNER_CUSTOMER_SESSION_KEY not in browser.session
    assert open_webview(token, HTTP_SEC_FETCH_SITE="none")[1].status_code == 302


def test_opening_the_webview_ends_a_signed_in_session(bank, django_user_model):
    auth = bank[1]
    browser = Client()
    browser.force_login(django_user_model.objects.create_user("someone"))
    _, response = open_webview(mint(auth).json()["token"], browser)
    assert response.status_code == 302
    assert "_auth_user_id" not in browser.session
    assert browser.session[PARTNER_CUSTOMER_SESSION_KEY]["ref"] == "cust-1"


def _webview_order(partner: Partner, browser: Client, *, status: str = "paid") -> Order:
    """An order of this webview customer (made as the checkout would)."""
    customer = browser.session[PARTNER_CUSTOMER_SESSION_KEY]
    order = order_make(event=make_event())
    key = customer["phone"] or f"partner:{customer['slug']}:{customer['ref']}"
    Order.objects.filter(pk=order.pk).update(
        partner=partner, channel=partner.channel, buyer_key=key, status=status,
        code=order.code.replace("/", ""),
    )  # fmt: skip
    order.refresh_from_db()
    return order


def test_the_paid_order_page_sends_the_webview_back_to_the_app(bank):
    partner, auth = bank
    browser, _ = open_webview(mint(auth).json()["token"])
    order = _webview_order(partner, browser)
    page = browser.get(f"/orders/{order.code}/").content.decode()
    link = f"bankapp://kassa/orders/{order.code}"
    assert f'href="{link}"' in page and "data-app-return" in page
    # The same order by its e-mail link in an ordinary browser: no app link.
    plain = Client().get(f"/orders/{order.code}/?t={order.access_token}").content.decode()
    assert "bankapp://" not in plain


def test_a_webview_customer_reads_only_their_own_orders(bank):
    partner, auth = bank
    mine, _ = open_webview(mint(auth, buyer_ref="cust-1").json()["token"])
    theirs, _ = open_webview(mint(auth, buyer_ref="cust-2").json()["token"])
    order = _webview_order(partner, theirs)
    assert theirs.get(f"/orders/{order.code}/").status_code == 200
    assert mine.get(f"/orders/{order.code}/").status_code == 404
    # The partner's own server (its key) still reads every order it sold.
    assert Client().get(f"/api/v1/orders/{order.pk}/", **auth).status_code == 200


@pytest.mark.parametrize(
    "link", ["javascript:alert(1)//{code}", "http://bank.example/{code}", "data://x/{code}",
             "bankapp://kassa/orders/", "bankapp://kassa/{code} x", "{code}", "BANKAPP://{code}"],
)  # fmt: skip
def test_admin_refuses_unsafe_or_broken_return_links(link):
    with pytest.raises(ValidationError):
        deep_link_validate(link)


def test_admin_accepts_app_schemes_and_https_app_links():
    for link in ("bankapp://kassa/orders/{code}", "https://bank.example/kassa/{code}",
                 "my.bank+app://o?code={code}"):  # fmt: skip
        deep_link_validate(link)
    partner = Partner(slug="p", name="P", webview_return_link="bankapp://o/{code}")
    assert partner.return_link(code="AB/CD") == "bankapp://o/AB%2FCD"
