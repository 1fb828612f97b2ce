"""Partner webhooks over real HTTP to a receiver thread, on real Postgres:
signed and verified, retried after a 500, replayed through the API, fired by
the real pay / refund / expiry services."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from api.models import Partner, Scope
from api.services import api_key_create
from orders.models import Order
from orders.services.holds import holds_expire
from orders.tests.conftest_payments import *  # noqa: F403
from orders.tests.factories import event_make, order_make, pay_with_card, post_callback
from partners.models import WebhookAttempt, WebhookDelivery
from partners.services import (
    webhook_endpoint_create,
    webhook_endpoint_rotate_secret,
    webhook_event_record,
)
from payments.services import order_refund, payment_start
from ticketing.models import AuditEntry, OutboxMessage
from ticketing.outbox import outbox_sweep
from ticketing.signing import stamped_valid as signature_verify

pytestmark = pytest.mark.django_db

PARTNER_VISA = "4400 4300 0000 0001"


def _partner_order(partner: Partner, *, minutes: int = 10) -> Order:
    order = order_make(event=event_make(seats=2), seat_count=1, minutes=minutes)
    Order.objects.filter(pk=order.pk).update(
        partner=partner, channel=partner.channel, buyer_ref="buyer-42"
    )
    order.refresh_from_db()
    return order


def _pay(client, order, gateway_outbox, capture) -> None:
    """Through the sandbox flow, as orders' payment tests pay."""
    payment, _url = payment_start(order=order)
    with capture(execute=True):
        assert pay_with_card(client, payment, PARTNER_VISA).status_code == 303
    for body in gateway_outbox.bodies():
        with capture(execute=True):
            assert post_callback(client, body).status_code == 200
    order.refresh_from_db()
    assert order.status == Order.Status.PAID


def _readme_verifier():
    """The verification snippet partners copy from README.md, run as it is."""
    from conftest import ROOT

    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Partner webhooks") :]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    namespace: dict = {}
    exec(code, namespace)  # noqa: S102 (our own README's snippet)
    return namespace["kassa_signature_ok"]


def _record(partner, event_type="order.paid", capture=None):
    with capture(execute=True), transaction.atomic():
        webhook_event_record(partner_id=partner.pk, event_type=event_type, data={"x": 1})


def test_a_paid_partner_order_is_posted_signed_and_the_reference_verifier_accepts_it(
    client, partner, endpoint, receiver, gateway_outbox, django_capture_on_commit_callbacks
):
    _endpoint, secret = endpoint
    order = _partner_order(partner)
    _pay(client, order, gateway_outbox, django_capture_on_commit_callbacks)

    assert len(receiver.requests) == 1
    request = receiver.requests[0]
    headers, raw = request["headers"], request["body"]
    body = json.loads(raw)
    assert body["type"] == "order.paid" and headers["Kassa-Event-Type"] == "order.paid"
    assert body["data"]["order"]["id"] == order.pk
    assert body["data"]["order"]["buyer_ref"] == "buyer-42"
    assert body["data"]["order"]["status"] == "paid"
    assert headers["Kassa-Event-Id"] == body["id"]
    signature = headers["Kassa-Signature"]
    assert signature.count("v1=") == 1
    assert signature_verify(header=signature, body=raw, secret=secret)
    # Rejected: another secret, a changed body, a timestamp 6 minutes old.
    assert not signature_verify(header=signature, body=raw, secret="whsec_wrong")
    assert not signature_verify(header=signature, body=raw + b" ", secret=secret)
    assert not signature_verify(header=signature, body=raw, secret=secret, now=time.time() + 360)
    assert not signature_verify(header="", body=raw, secret=secret)
    readme_ok = _readme_verifier()
    assert readme_ok(signature, raw, secret)
    assert not readme_ok(signature, raw, "whsec_wrong")
    assert not readme_ok(signature, raw + b" ", secret)

    delivery = WebhookDelivery.objects.get()
    assert delivery.status == WebhookDelivery.Status.SUCCEEDED
    assert str(delivery.pk) == headers["Kassa-Delivery-Id"]
    attempt = WebhookAttempt.objects.get(delivery=delivery)
    assert attempt.status_code == 200 and '"ok": true' in attempt.response_body


def test_during_a_rotation_both_secrets_verify_and_afterwards_only_the_new(
    partner, endpoint, receiver, gateway_outbox, django_capture_on_commit_callbacks
):
    hook, old = endpoint
    new = webhook_endpoint_rotate_secret(endpoint=hook, overlap_hours=1)
    _record(partner, capture=django_capture_on_commit_callbacks)
    signature, raw = (
        receiver.requests[0]["headers"]["Kassa-Signature"],
        receiver.requests[0]["body"],
    )
    assert signature.count("v1=") == 2
    assert signature_verify(header=signature, body=raw, secret=old)
    assert signature_verify(header=signature, body=raw, secret=new)

    hook.refresh_from_db()
    hook.previous_secret_expires_at = timezone.now() - timedelta(seconds=1)
    hook.save()
    _record(partner, capture=django_capture_on_commit_callbacks)
    signature, raw = (
        receiver.requests[1]["headers"]["Kassa-Signature"],
        receiver.requests[1]["body"],
    )
    assert signature.count("v1=") == 1
    assert signature_verify(header=signature, body=raw, secret=new)
    assert not signature_verify(header=signature, body=raw, secret=old)
    assert AuditEntry.objects.filter(action="webhook_endpoint.secret_rotated").count() == 1


def test_a_500_is_recorded_and_retried_with_back_off_until_delivered(
    partner, endpoint, receiver, gateway_outbox, django_capture_on_commit_callbacks
):
    receiver.statuses = [500]
    _record(partner, capture=django_capture_on_commit_callbacks)
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == WebhookDelivery.Status.FAILING and delivery.last_status_code == 500
    message = OutboxMessage.objects.get(kind="partners.webhook")
    assert message.done_at is None and message.due_at > timezone.now()  # backed off
    assert "HTTP 500" in message.last_error
    assert outbox_sweep(now=timezone.now()) == 0  # not due yet

    assert outbox_sweep(now=message.due_at) == 1
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.SUCCEEDED and delivery.attempts == 2
    codes = list(delivery.tries.order_by("started_at").values_list("status_code", flat=True))
    assert codes == [500, 200]
    assert len(receiver.requests) == 2
    assert receiver.requests[0]["headers"]["Kassa-Event-Id"] == str(delivery.event_id)
    assert receiver.requests[1]["headers"]["Kassa-Event-Id"] == str(delivery.event_id)


def test_no_answer_at_all_is_an_attempt_with_the_error(partner, gateway_outbox, settings):
    settings.WEBHOOK_ALLOW_HTTP = True
    webhook_endpoint_create(partner=partner, url="http://127.0.0.1:9/hooks", events=["order.paid"])
    with transaction.atomic():
        webhook_event_record(partner_id=partner.pk, event_type="order.paid", data={})
    message = OutboxMessage.objects.get(kind="partners.webhook")
    assert outbox_sweep(now=message.due_at) == 0
    attempt = WebhookAttempt.objects.get()
    assert attempt.status_code is None and "refused" in attempt.error.lower()


def test_a_rolled_back_change_records_no_webhook(partner, endpoint):
    order = _partner_order(partner)
    with pytest.raises(RuntimeError), transaction.atomic():
        from orders.hooks import order_record

        order_record(state="paid", orders=[(order.pk, partner.pk)])
        assert WebhookDelivery.objects.count() == 1
        raise RuntimeError("the payment failed after all")
    assert WebhookDelivery.objects.count() == 0
    assert not OutboxMessage.objects.filter(kind="partners.webhook").exists()


def test_refund_and_expiry_fire_from_the_real_services_and_web_orders_fire_nothing(
    client, partner, endpoint, receiver, gateway_outbox, django_capture_on_commit_callbacks
):
    paid = _partner_order(partner)
    _pay(client, paid, gateway_outbox, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        order_refund(order=paid)
    lapsing = _partner_order(partner, minutes=1)
    web = order_make(event=event_make(seats=2), seat_count=1, minutes=1)
    with django_capture_on_commit_callbacks(execute=True):
        assert holds_expire(now=timezone.now() + timedelta(minutes=5)) >= 2
    assert Order.objects.get(pk=web.pk).status == Order.Status.EXPIRED

    events = [(b["type"], b["data"]["order"]["id"]) for b in receiver.bodies()]
    assert events == [
        ("order.paid", paid.pk),
        ("order.refunded", paid.pk),
        ("order.expired", lapsing.pk),
    ]
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"succeeded"}


def test_only_the_chosen_events_of_the_partners_own_active_endpoints(
    partner, receiver, gateway_outbox, settings, django_capture_on_commit_callbacks
):
    settings.WEBHOOK_ALLOW_HTTP = True
    webhook_endpoint_create(partner=partner, url=receiver.url, events=["order.refunded"])
    other = Partner.objects.create(slug="kaspi", name="Kaspi")
    webhook_endpoint_create(partner=other, url=receiver.url, events=["order.paid"])
    _record(partner, "order.paid", capture=django_capture_on_commit_callbacks)
    assert receiver.requests == [] and WebhookDelivery.objects.count() == 0
    _record(partner, "order.refunded", capture=django_capture_on_commit_callbacks)
    assert [b["type"] for b in receiver.bodies()] == ["order.refunded"]


@pytest.mark.parametrize(
    ("url", "events", "code"),
    [
        ("ftp://example.com/x", ["order.paid"], "webhook_url_invalid"),
        ("https://example.com:99999/x", ["order.paid"], "webhook_url_invalid"),
        ("https://exa mple.com/x", ["order.paid"], "webhook_url_invalid"),
        ("https:///x", ["order.paid"], "webhook_url_invalid"),
        ("https://example.com/x", ["order.shipped"], "webhook_events_invalid"),
        ("https://example.com/x", [], "webhook_events_invalid"),
    ],
)
def test_bad_endpoints_are_refused(partner, url, events, code):
    from partners.exceptions import WebhookEventsInvalid, WebhookUrlInvalid

    with pytest.raises((WebhookUrlInvalid, WebhookEventsInvalid)) as caught:
        webhook_endpoint_create(partner=partner, url=url, events=events)
    assert caught.value.code == code


def test_plain_http_is_refused_unless_allowed(partner, settings):
    from partners.exceptions import WebhookUrlInvalid

    settings.WEBHOOK_ALLOW_HTTP = False
    with pytest.raises(WebhookUrlInvalid):
        webhook_endpoint_create(partner=partner, url="http://example.com/x", events=["order.paid"])


def _api(raw: str | None):
    from rest_framework.test import APIClient

    api = APIClient()
    if raw:
        api.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    return api


def test_a_partner_lists_its_deliveries_and_replays_one_as_a_new_delivery(
    partner, endpoint, receiver, gateway_outbox, django_capture_on_commit_callbacks
):
    receiver.statuses = [503]
    _record(partner, capture=django_capture_on_commit_callbacks)
    _key, raw = api_key_create(partner=partner, scopes=[Scope.SELL])
    listed = _api(raw).get("/api/v1/webhooks/deliveries/")
    assert listed.status_code == 200, listed.content
    [item] = listed.json()["results"]
    assert item["status"] == "failing" and item["event_type"] == "order.paid"
    assert [a["status_code"] for a in item["attempts"]] == [503]
    assert '"ok": false' in item["attempts"][0]["response_body"]

    with django_capture_on_commit_callbacks(execute=True):
        replayed = _api(raw).post(f"/api/v1/webhooks/deliveries/{item['id']}/replay/")
    assert replayed.status_code == 202, replayed.content
    new = replayed.json()
    assert new["id"] != item["id"] and new["event_id"] == item["event_id"]
    assert new["replay_of"] == item["id"]
    assert WebhookDelivery.objects.get(pk=new["id"]).status == "succeeded"
    assert [r["headers"]["Kassa-Event-Id"] for r in receiver.requests] == [item["event_id"]] * 2
    assert receiver.requests[1]["headers"]["Kassa-Delivery-Id"] == new["id"]
    assert AuditEntry.objects.filter(action="webhook_delivery.replayed").count() == 1
    page = _api(raw).get("/api/v1/webhooks/deliveries/", {"page_size": 1}).json()
    assert len(page["results"]) == 1 and page["next"]


def test_deliveries_are_the_partners_own_and_errors_have_the_one_body(
    partner, endpoint, receiver, gateway_outbox, django_capture_on_commit_callbacks
):
    _record(partner, capture=django_capture_on_commit_callbacks)
    delivery = WebhookDelivery.objects.get()
    other = Partner.objects.create(slug="kaspi", name="Kaspi")
    _key, raw = api_key_create(partner=other, scopes=[Scope.SELL])
    assert _api(raw).get("/api/v1/webhooks/deliveries/").json()["results"] == []
    missing = _api(raw).post(f"/api/v1/webhooks/deliveries/{delivery.pk}/replay/")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    anonymous = _api(None).get("/api/v1/webhooks/deliveries/")
    assert anonymous.status_code in (401, 403) and "error" in anonymous.json()
    bad_cursor = _api(raw).get("/api/v1/webhooks/deliveries/", {"cursor": "nonsense"})
    assert bad_cursor.status_code == 400
    assert bad_cursor.json()["error"]["code"] == "validation_error"
    assert WebhookDelivery.objects.count() == 1


def test_the_openapi_schema_describes_the_webhook_endpoints_headers_and_errors(client):
    schema = client.get("/api/v1/schema/", {"format": "json"}).json()
    listing = schema["paths"]["/api/v1/webhooks/deliveries/"]["get"]
    replay = schema["paths"]["/api/v1/webhooks/deliveries/{delivery_id}/replay/"]["post"]
    create = schema["paths"]["/api/v1/webhooks/endpoints/"]["post"]
    assert "Kassa-Signature" in create["description"]
    assert "WebhookEndpointCreated" in str(create["responses"]["201"])
    for path, method in [
        ("/api/v1/webhooks/endpoints/", "get"),
        ("/api/v1/webhooks/endpoints/{endpoint_id}/", "delete"),
        ("/api/v1/webhooks/endpoints/{endpoint_id}/rotate-secret/", "post"),
    ]:
        assert "403" in schema["paths"][path][method]["responses"]
    for operation in (listing, replay):
        for header in (
            "Kassa-Signature",
            "Kassa-Event-Id",
            "Kassa-Event-Type",
            "Kassa-Delivery-Id",
        ):
            assert header in operation["description"]
    error_ref = "#/components/schemas/Error"
    for status in ("400", "401", "403", "429", "500"):
        assert listing["responses"][status]["content"]["application/json"]["schema"]["$ref"] == (
            error_ref
        )
    for status in ("401", "403", "404", "409", "422", "429", "500"):
        assert replay["responses"][status]["content"]["application/json"]["schema"]["$ref"] == (
            error_ref
        )
    assert "Idempotency-Key" in [p["name"] for p in replay["parameters"]]
    assert "WebhookDelivery" in schema["components"]["schemas"]


def test_after_the_outboxs_last_attempt_the_delivery_is_given_up_and_can_be_replayed(
    partner, endpoint, receiver, gateway_outbox, settings, django_capture_on_commit_callbacks
):
    settings.OUTBOX_MAX_ATTEMPTS = 2
    receiver.statuses = [500, 502]
    _record(partner, capture=django_capture_on_commit_callbacks)
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == WebhookDelivery.Status.FAILING
    message = OutboxMessage.objects.get(kind="partners.webhook")
    assert outbox_sweep(now=message.due_at) == 0
    message.refresh_from_db()
    assert message.due_at is None and message.done_at is None  # the outbox gave up
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.GIVEN_UP and delivery.attempts == 2
    assert delivery.last_status_code == 502

    _key, raw = api_key_create(partner=partner, scopes=[Scope.SELL])
    with django_capture_on_commit_callbacks(execute=True):
        replayed = _api(raw).post(f"/api/v1/webhooks/deliveries/{delivery.pk}/replay/")
    assert replayed.status_code == 202 and replayed.json()["status"] in ("pending", "succeeded")
    assert WebhookDelivery.objects.get(pk=replayed.json()["id"]).status == "succeeded"


def test_a_partner_registers_rotates_and_disables_its_endpoints_through_the_api(
    partner, receiver, settings, gateway_outbox, django_capture_on_commit_callbacks
):
    settings.WEBHOOK_ALLOW_HTTP = True
    _key, raw = api_key_create(partner=partner, scopes=[Scope.SELL])
    api = _api(raw)
    created = api.post(
        "/api/v1/webhooks/endpoints/",
        {"url": receiver.url, "events": ["order.paid", "queue.admitted"]},
        format="json",
    )
    assert created.status_code == 201, created.content
    body = created.json()
    secret = body["secret"]
    assert secret.startswith("whsec_") and body["events"] == ["order.paid", "queue.admitted"]
    listed = api.get("/api/v1/webhooks/endpoints/").json()
    assert [e["id"] for e in listed] == [body["id"]] and "secret" not in listed[0]

    rotated = api.post(f"/api/v1/webhooks/endpoints/{body['id']}/rotate-secret/")
    assert rotated.status_code == 200 and rotated.json()["secret"] != secret
    _record(partner, capture=django_capture_on_commit_callbacks)
    request = receiver.requests[0]
    for either in (secret, rotated.json()["secret"]):
        assert signature_verify(
            header=request["headers"]["Kassa-Signature"], body=request["body"], secret=either
        )

    other = Partner.objects.create(slug="kaspi", name="Kaspi")
    _other, other_raw = api_key_create(partner=other, scopes=[Scope.SELL])
    assert _api(other_raw).delete(f"/api/v1/webhooks/endpoints/{body['id']}/").status_code == 404
    assert api.delete(f"/api/v1/webhooks/endpoints/{body['id']}/").status_code == 204
    _record(partner, capture=django_capture_on_commit_callbacks)
    assert len(receiver.requests) == 1  # disabled: nothing new
    actions = set(AuditEntry.objects.values_list("action", "actor"))
    assert ("webhook_endpoint.created", "partner:halyk") in actions
    assert ("webhook_endpoint.disabled", "partner:halyk") in actions


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"url": "https://example.com/h", "events": ["order.shipped"]}, "events"),
        ({"url": "https://example.com/h", "events": []}, "events"),
        ({"events": ["order.paid"]}, "url"),
    ],
)
def test_bad_endpoint_requests_are_400s_with_the_field(partner, payload, field):
    _key, raw = api_key_create(partner=partner, scopes=[Scope.SELL])
    response = _api(raw).post("/api/v1/webhooks/endpoints/", payload, format="json")
    assert response.status_code == 400
    assert field in response.json()["error"]["details"]


def test_a_plain_http_endpoint_is_refused_with_its_code(partner, settings):
    settings.WEBHOOK_ALLOW_HTTP = False
    _key, raw = api_key_create(partner=partner, scopes=[Scope.SELL])
    response = _api(raw).post(
        "/api/v1/webhooks/endpoints/",
        {"url": "http://example.com/h", "events": ["order.paid"]},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "webhook_url_invalid"


def test_private_hosts_are_refused_at_registration_and_at_delivery(
    partner, receiver, settings, gateway_outbox, django_capture_on_commit_callbacks
):
    from partners.exceptions import WebhookUrlInvalid

    settings.WEBHOOK_ALLOW_HTTP = True
    webhook_endpoint_create(
        partner=partner, url=receiver.url.replace("127.0.0.1", "localhost"), events=["order.paid"]
    )
    settings.WEBHOOK_ALLOW_PRIVATE_HOSTS = False
    for url in ["https://127.0.0.1/h", "https://10.1.2.3/h", "https://[::1]/h",
                "https://169.254.169.254/latest", "https://localhost/h"]:  # fmt: skip
        with pytest.raises(WebhookUrlInvalid):
            webhook_endpoint_create(partner=partner, url=url, events=["order.paid"])
    # A name that resolves to a private address (localhost here) is refused
    # when the POST would go out, after DNS.
    _record(partner, capture=django_capture_on_commit_callbacks)
    assert receiver.requests == []
    attempt = WebhookAttempt.objects.get()
    assert attempt.status_code is None and "not a public address" in attempt.error

    # Allowed (DEBUG), the name reaches the receiver on whichever address it listens.
    settings.WEBHOOK_ALLOW_PRIVATE_HOSTS = True
    message = OutboxMessage.objects.get(kind="partners.webhook")
    assert outbox_sweep(now=message.due_at) == 1
    assert len(receiver.requests) == 1
