"""Staff's side: an endpoint's secret shown once, rotation, deliveries with
their attempts read-only, and "re-send" queuing a new delivery."""

from __future__ import annotations

import re

import pytest
from django.db import transaction

from orders.tests.conftest_payments import *  # noqa: F403
from partners.models import WebhookDelivery, WebhookEndpoint
from partners.services import webhook_event_record
from ticketing.models import AuditEntry
from ticketing.signing import stamped_valid as signature_verify

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client, django_user_model):
    boss = django_user_model.objects.create_superuser("boss", "boss@example.com", "pw")
    client.force_login(boss)
    return client


def _secret(response) -> str:
    assert response.status_code == 200, response.content
    return re.search(r'id="webhook-secret"[^>]*>([^<]+)<', response.content.decode()).group(1)


def test_admin_creates_an_endpoint_shows_its_secret_once_and_it_signs(
    staff_client, partner, receiver, settings, gateway_outbox, django_capture_on_commit_callbacks
):
    settings.WEBHOOK_ALLOW_HTTP = True
    response = staff_client.post(
        "/admin/partners/webhookendpoint/add/",
        {"partner": partner.pk, "url": receiver.url, "events": ["order.paid"], "is_active": "on"},
    )
    secret = _secret(response)
    assert "no-store" in response["Cache-Control"]
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.events == ["order.paid"] and endpoint.secret == secret
    assert AuditEntry.objects.filter(action="webhook_endpoint.created").count() == 1
    for url in ["/admin/partners/webhookendpoint/",
                f"/admin/partners/webhookendpoint/{endpoint.pk}/change/"]:  # fmt: skip
        page = staff_client.get(url)
        assert page.status_code == 200 and secret not in page.content.decode()

    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        webhook_event_record(partner_id=partner.pk, event_type="order.paid", data={})
    request = receiver.requests[0]
    assert signature_verify(
        header=request["headers"]["Kassa-Signature"], body=request["body"], secret=secret
    )

    rotated = _secret(
        staff_client.post(
            "/admin/partners/webhookendpoint/",
            {"action": "rotate_secret", "_selected_action": [endpoint.pk]},
        )
    )
    assert rotated != secret
    endpoint.refresh_from_db()
    assert endpoint.signing_secrets() == [rotated, secret]


def test_admin_refuses_a_plain_http_url_with_a_message_not_a_500(staff_client, partner, settings):
    settings.WEBHOOK_ALLOW_HTTP = False
    response = staff_client.post(
        "/admin/partners/webhookendpoint/add/",
        {"partner": partner.pk, "url": "http://example.com/h", "events": ["order.paid"]},
    )
    assert response.status_code == 200
    assert (
        "https://" in response.content.decode()
        and "webhook-secret" not in response.content.decode()
    )
    assert not WebhookEndpoint.objects.exists()


def test_admin_shows_attempts_and_resend_queues_a_new_delivery(
    staff_client, partner, endpoint, receiver, gateway_outbox, django_capture_on_commit_callbacks
):
    receiver.statuses = [500]
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        webhook_event_record(partner_id=partner.pk, event_type="order.paid", data={})
    delivery = WebhookDelivery.objects.get()
    page = staff_client.get(f"/admin/partners/webhookdelivery/{delivery.pk}/change/")
    assert page.status_code == 200
    assert "500" in page.content.decode() and "&quot;ok&quot;: false" in page.content.decode()
    assert staff_client.get("/admin/partners/webhookdelivery/").status_code == 200

    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(
            "/admin/partners/webhookdelivery/",
            {"action": "resend", "_selected_action": [delivery.pk]},
            follow=True,
        )
    assert response.status_code == 200
    replay = WebhookDelivery.objects.exclude(pk=delivery.pk).get()
    assert replay.replay_of_id == delivery.pk and replay.event_id == delivery.event_id
    assert replay.status == WebhookDelivery.Status.SUCCEEDED
    assert AuditEntry.objects.get(action="webhook_delivery.replayed").actor_user.username == "boss"
