"""One access rule for every read of an order (orders.selectors.order_readable_by).

Pages (order, pay, return), QR images and the API's order reads all answer
the order's token, the signed-in account that owns it, the partner whose key
made it, and the device that made it; everybody else gets the 404 of a
missing order.
"""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from rest_framework.test import APIClient

from accounts.selectors import Buyer
from events.models import EventSeat
from orders.models import Order
from orders.selectors import order_readable_by
from orders.tests.test_orders_api import CONTACT, partner_client

pytestmark = pytest.mark.django_db


class _Forms(HTMLParser):
    """The page's forms as a person's browser sees them: action, method, fields."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.forms.append({"action": attrs.get("action") or "", "fields": {}, "html": ""})
        elif self.forms and tag in ("input", "select") and attrs.get("name"):
            self.forms[-1]["fields"].setdefault(attrs["name"], attrs.get("value") or "")
        elif self.forms and tag == "option" and attrs.get("value"):
            fields = self.forms[-1]["fields"]
            last = list(fields)[-1]
            fields[last] = fields[last] or attrs["value"]  # the first option is selected


def page_forms(html: str) -> list[dict]:
    parser = _Forms()
    parser.feed(html)
    return parser.forms


def submit(client: Client, page, *, having: str, **fields):
    """Fill and send the form of `page` that has the field `having`, as a browser would."""
    form = next(f for f in page_forms(page.content.decode()) if having in f["fields"])
    action = form["action"] or page.wsgi_request.path  # no action: the page itself
    return client.post(action, {**form["fields"], **fields})


def guest_checkout(client: Client, event, *, quantity: str = "2"):
    """Event page → best-available form → checkout → contact form, as a guest does."""
    event_page = client.get(f"/e/{event.slug}/")
    assert event_page.status_code == 200
    held = submit(client, event_page, having="best_quantity", best_quantity=quantity)
    assert held.status_code == 302 and held["Location"].startswith("/checkout/")
    checkout = client.get(held["Location"])
    assert checkout.status_code == 200
    return submit(client, checkout, having="email", email="aigerim@example.kz", name="Aigerim")


def test_a_guest_goes_from_the_contact_form_to_the_pay_page_with_their_seats(event):
    """Issue 14, problem 1: "Continue to payment" answered 404 for a guest."""
    guest = Client(enforce_csrf_checks=True, HTTP_ACCEPT_LANGUAGE="en")
    # The CSRF check is on: the forms must carry their token like a browser's.
    event_page = guest.get(f"/e/{event.slug}/")
    held = submit(guest, event_page, having="best_quantity", best_quantity="2")
    checkout_url = held["Location"]
    checkout = guest.get(checkout_url)
    paid = submit(guest, checkout, having="email", email="aigerim@example.kz", name="Aigerim")
    assert paid.status_code == 302
    pay_page = guest.get(paid["Location"])
    order = Order.objects.get()
    assert paid["Location"] == f"/orders/{order.code}/pay/"  # no token in the URL
    assert pay_page.status_code == 200, pay_page.content[:300]
    html = pay_page.content.decode()
    assert "Pay by card" in html
    seats = order.hold.seat_ids
    assert len(seats) == 2
    for es in EventSeat.objects.filter(pk__in=seats).select_related("seat"):
        assert f"row {es.seat.row_label}, seat {es.seat.number}" in html
    # The order page is the same buyer's too, and the pay button leads to the gateway.
    assert guest.get(f"/orders/{order.code}/").status_code == 200
    gateway = submit(guest, pay_page, having="t")
    assert gateway.status_code == 303 and "/sandbox-gateway/pay/" in gateway["Location"]


def test_the_device_that_made_the_order_reads_every_page_of_it_and_nobody_else(event):
    guest = Client()
    guest_checkout(guest, event)
    order = Order.objects.get()
    for url in (f"/orders/{order.code}/{page}" for page in ("", "pay/", "return/")):
        assert guest.get(url).status_code in (200, 302), url
        assert Client().get(url).status_code == 404, url
    api = f"/api/v1/orders/{order.pk}/"
    assert guest.get(api).status_code == 200
    assert APIClient().get(api).status_code == 404
    assert APIClient().post(f"/api/v1/orders/{order.pk}/cancel/").status_code == 404
    assert APIClient().post(f"/api/v1/orders/{order.pk}/payments/", {}).status_code == 404
    # The e-mail link (the token) opens it anywhere.
    assert Client().get(order.get_absolute_url()).status_code == 200
    assert APIClient().get(api, HTTP_X_ORDER_TOKEN=order.access_token).status_code == 200


@pytest.mark.parametrize("token", ["wrong", "é", "²", ""])
def test_a_bad_or_non_ascii_token_is_a_404_never_a_500(event, token):
    guest_checkout(Client(), event)
    order = Order.objects.get()
    assert Client().get(f"/orders/{order.code}/", {"t": token}).status_code == 404
    api = APIClient().get(f"/api/v1/orders/{order.pk}/", {"token": token})
    assert (api.status_code, api.json()["error"]["code"]) == (404, "order_not_found")


def test_a_signed_in_buyer_reads_their_order_on_another_device_and_others_do_not(event):
    users = get_user_model().objects
    owner, other = users.create_user(username="owner"), users.create_user(username="other")
    phone = Client()
    phone.force_login(owner)
    guest_checkout(phone, event)
    order = Order.objects.get()
    assert order.user_id == owner.pk
    laptop = Client()
    laptop.force_login(owner)
    assert laptop.get(f"/orders/{order.code}/pay/").status_code == 200
    stranger = Client()
    stranger.force_login(other)
    assert stranger.get(f"/orders/{order.code}/pay/").status_code == 404
    # Signed out, the same browser is a guest again: the account's orders stay private.
    phone.logout()
    assert phone.get(f"/orders/{order.code}/pay/").status_code == 404


def test_a_partner_reads_the_orders_its_key_made_and_no_other_partner_does(event):
    halyk = partner_client("halyk")
    hold = halyk.post(
        "/api/v1/holds/",
        {"event": event.slug, "best_available": {"quantity": 1}, "buyer_ref": "c1"},
        format="json",
    )
    made = halyk.post(
        "/api/v1/orders/", {"hold": hold.json()["id"], "buyer_ref": "c1", **CONTACT}, format="json"
    )
    order_id = made.json()["id"]
    assert halyk.get(f"/api/v1/orders/{order_id}/").status_code == 200
    assert halyk.get(f"/api/v1/orders/{order_id}/tickets/").status_code == 409  # not paid yet
    kaspi = partner_client("kaspi")
    assert kaspi.get(f"/api/v1/orders/{order_id}/").status_code == 404
    assert kaspi.get(f"/api/v1/orders/{order_id}/tickets/").status_code == 404
    # The site's guests are not that partner, whatever their device.
    assert Client().get(f"/api/v1/orders/{order_id}/").status_code == 404


def test_the_rule_itself():
    order = Order(
        access_token="tok", buyer_key="device:abc", user_id=None, partner_id=None, channel="web"
    )
    device = Buyer(channel="web", key="device:abc")
    assert order_readable_by(order=order, buyer=device, token=None)
    assert not order_readable_by(order=order, buyer=Buyer("web", "device:xyz"), token=None)
    assert order_readable_by(order=order, buyer=Buyer("web", "device:xyz"), token="tok")
    assert not order_readable_by(order=order, buyer=Buyer("web", "device:xyz"), token="é")
    # A partner whose request carries no customer reference falls back to a
    # device key: it must not match a site guest's order by accident.
    partner = Buyer(channel="partner:halyk", key="device:abc", partner_id=7)
    assert not order_readable_by(order=order, buyer=partner, token=None)
    account = Order(access_token="tok", buyer_key="user:5", user_id=5, partner_id=None)
    assert order_readable_by(order=account, buyer=Buyer("web", "user:5", user_id=5), token=None)
    assert not order_readable_by(order=account, buyer=Buyer("web", "user:6", user_id=6), token="")
