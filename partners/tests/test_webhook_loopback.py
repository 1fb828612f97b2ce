"""WEBHOOK_LOOPBACK_PARTNERS: the partners named there (the demo's own) may
register plain http:// endpoints on loopback and get POSTs there; nobody else
may, and nothing else private opens up, with the production defaults."""

from __future__ import annotations

import contextlib

import pytest
from django.db import transaction

from api.models import Partner
from partners.exceptions import WebhookUrlInvalid
from partners.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from partners.services import (
    WebhookDeliveryFailed,
    webhook_deliver,
    webhook_endpoint_create,
    webhook_event_record,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _production_defaults(settings):
    settings.WEBHOOK_ALLOW_HTTP = False
    settings.WEBHOOK_ALLOW_PRIVATE_HOSTS = False
    settings.OUTBOX_FAST_PATH = False
    settings.WEBHOOK_LOOPBACK_PARTNERS = ["demo-app"]


def _deliver(partner) -> None:
    with transaction.atomic():
        webhook_event_record(partner_id=partner.pk, event_type="order.paid", data={"x": 1})
    for delivery in WebhookDelivery.objects.filter(partner=partner):
        # A failed attempt is recorded and raised for the outbox to retry.
        with contextlib.suppress(WebhookDeliveryFailed):
            webhook_deliver(delivery_id=str(delivery.pk))


def test_the_named_partner_registers_and_receives_on_loopback_over_http(receiver):
    demo = Partner.objects.create(slug="demo-app", name="Demo")
    url = receiver.url.replace("127.0.0.1", "localhost")
    webhook_endpoint_create(partner=demo, url=receiver.url, events=["order.paid"])
    webhook_endpoint_create(partner=demo, url=url, events=["order.paid"])

    _deliver(demo)

    assert len(receiver.requests) == 2
    assert set(WebhookAttempt.objects.values_list("status_code", flat=True)) == {200}


@pytest.mark.parametrize(
    "url",
    [
        "http://10.1.2.3/h",
        "https://192.168.0.1/h",
        "https://169.254.169.254/x",
        "http://example.kz/h",
    ],
)
def test_the_named_partner_gets_nothing_else_private_nor_http(url):
    demo = Partner.objects.create(slug="demo-app", name="Demo")
    with pytest.raises(WebhookUrlInvalid):
        webhook_endpoint_create(partner=demo, url=url, events=["order.paid"])


def test_other_partners_are_refused_at_registration_and_at_delivery(receiver):
    other = Partner.objects.create(slug="halyk", name="Halyk")
    with pytest.raises(WebhookUrlInvalid):
        webhook_endpoint_create(partner=other, url=receiver.url, events=["order.paid"])
    # Written around the check (an old row, a changed setting): refused at the POST too.
    WebhookEndpoint.objects.create(
        partner=other, url=receiver.url, events=["order.paid"], secret="whsec_x"
    )

    _deliver(other)

    assert receiver.requests == []
    assert "not a public address" in WebhookAttempt.objects.get().error
