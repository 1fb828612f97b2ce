"""The sandbox acquirer on its own: payment links, charging, refunds, status."""

from __future__ import annotations

import threading
import uuid
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client

from sandbox import gateway
from sandbox.models import SandboxCharge, SandboxPayment, SandboxRefund
from sandbox.tests.conftest import Merchant
from ticketing.models import OutboxMessage

pytestmark = pytest.mark.django_db


def test_a_payment_link_registers_the_payment_the_merchant_signed(merchant):
    payment_id, link = merchant.link(amount="45000.00", bins=["440043"], note="Partner cards")
    page = merchant.client.get(link)
    assert page.status_code == 200
    assert "45" in page.content.decode() and "Partner cards" in page.content.decode()
    payment = SandboxPayment.objects.get(pk=payment_id)
    assert (payment.amount, payment.card_bins) == (Decimal("45000.00"), ["440043"])
    assert merchant.client.get(link).status_code == 200  # again: the same payment
    assert SandboxPayment.objects.count() == 1


def test_a_forged_link_is_refused_and_registers_nothing(merchant):
    _payment_id, link = merchant.link()
    forged = link.replace("test shop", "x")[:-3] + "abc"
    assert merchant.client.get(forged).status_code == 404
    assert not SandboxPayment.objects.exists()


def test_another_payments_link_is_refused(merchant):
    _first, link = merchant.link()
    other = uuid.uuid4()
    token = link.split("?p=", 1)[1]
    assert merchant.client.get(f"/sandbox-gateway/pay/{other}/?p={token}").status_code == 404
    assert not SandboxPayment.objects.exists()


def test_an_expired_link_is_refused(merchant, monkeypatch):
    monkeypatch.setattr(gateway, "LINK_MAX_AGE_SECONDS", -1)
    _payment_id, link = merchant.link()
    assert merchant.client.get(link).status_code == 404


def test_a_link_that_changes_a_known_amount_is_refused(merchant):
    payment_id, link = merchant.link(amount="100.00")
    assert merchant.client.get(link).status_code == 200
    _same, dearer = merchant.link(payment_id=payment_id, amount="1.00")
    assert merchant.client.get(dearer).status_code == 404
    assert SandboxPayment.objects.get(pk=payment_id).amount == Decimal("100.00")


def test_a_payment_without_its_link_is_unknown(client):
    assert client.get(f"/sandbox-gateway/pay/{uuid.uuid4()}/").status_code == 404


def test_the_merchants_card_restriction_is_applied_before_charging(merchant):
    payment_id, link = merchant.link(brands=["visa"], bins=["440043"])
    refused = merchant.pay(link, "5555 5555 5555 4444")
    assert refused.status_code == 422 and "Visa" in refused.json()["reason"]
    refused = merchant.pay(link, "4111 1111 1111 1111")
    assert refused.status_code == 422 and "440043" in refused.json()["reason"]
    assert not SandboxCharge.objects.exists()
    assert merchant.pay(link).json()["status"] == "accepted"
    assert SandboxCharge.objects.get(payment_id=payment_id).status == "succeeded"


def test_a_charge_queues_its_callback_to_the_merchants_url(merchant):
    payment_id, link = merchant.link()
    merchant.pay(link)
    [message] = OutboxMessage.objects.filter(kind=gateway.CALLBACK_KIND)
    assert message.payload["url"] == "http://shop.example/callback/"
    assert message.payload["body"]["payment_id"] == str(payment_id)
    assert message.payload["body"]["status"] == "succeeded"


def test_a_refund_is_one_refund_per_id_and_never_more_than_was_charged(merchant):
    payment_id, link = merchant.link(amount="300.00")
    merchant.pay(link)
    first = merchant.refund(payment_id, refund_id="r1", amount="100.00")
    assert first.status_code == 200 and first.json()["amount"] == "100.00"
    again = merchant.refund(payment_id, refund_id="r1", amount="100.00")
    assert again.status_code == 200  # the same refund, asked again
    assert SandboxRefund.objects.count() == 1
    too_much = merchant.refund(payment_id, refund_id="r2", amount="250.00")
    assert too_much.status_code == 409 and too_much.json()["error"]["code"] == "amount_invalid"
    rest = merchant.refund(payment_id, refund_id="r3")  # no amount: what is left
    assert rest.json()["amount"] == "200.00"
    charge = SandboxCharge.objects.get(payment_id=payment_id)
    assert (charge.status, charge.refunded_amount) == ("refunded", Decimal("300.00"))
    assert merchant.status(payment_id).json()["status"] == "refunded"
    bodies = [
        m.payload["body"]
        for m in OutboxMessage.objects.filter(kind=gateway.CALLBACK_KIND).order_by("pk")
    ]
    refunds = [(b["event_id"], b["amount"]) for b in bodies if b["status"] == "refunded"]
    # r3 returned what was left (200) and, as a refund of all that was left,
    # says the payment's amount: the payment is refunded.
    assert refunds == [("refund-r1", "100.00"), ("refund-r1", "100.00"), ("refund-r3", "300.00")]


def test_a_refund_of_a_payment_never_charged_is_refused(merchant):
    payment_id, link = merchant.link()
    merchant.client.get(link)
    refused = merchant.refund(payment_id, refund_id="r1")
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "not_charged"
    declined_id, declined_link = merchant.link()
    merchant.pay(declined_link, "4000 0000 0000 0002")
    assert merchant.refund(declined_id, refund_id="r2").status_code == 409


@pytest.mark.parametrize("signature", ["", "sha256=00"])
def test_the_merchant_api_refuses_a_bad_signature(merchant, signature):
    payment_id, link = merchant.link()
    merchant.pay(link)
    refused = merchant.refund(payment_id, refund_id="r1", signature=signature)
    assert refused.status_code == 401 and "status" not in refused.json()
    assert not SandboxRefund.objects.exists()


def test_the_status_of_a_payment_never_seen_is_created(merchant):
    answer = merchant.status(uuid.uuid4())
    assert answer.status_code == 200 and answer.json()["status"] == "created"


@pytest.mark.django_db(transaction=True)
def test_refunds_racing_on_one_charge_never_return_more_than_it(merchant):
    payment_id, link = merchant.link(amount="100.00")
    merchant.pay(link)
    barrier, answers = threading.Barrier(4), []

    def refund(i: int) -> None:
        try:
            barrier.wait()
            answers.append(
                Merchant(Client()).refund(payment_id, refund_id=f"r{i}", amount="60.00").status_code
            )
        finally:
            connection.close()

    threads = [threading.Thread(target=refund, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(answers) == [200, 409, 409, 409]
    charge = SandboxCharge.objects.get(payment_id=payment_id)
    assert charge.refunded_amount == Decimal("60.00")


def test_a_callback_post_gives_up_before_its_outbox_lease_ends(settings):
    # Otherwise a slow merchant's callback would be run a second time, by the
    # next sweep, while the first POST still waits (sandbox/outbox.py).
    from sandbox.outbox import CALLBACK_TIMEOUT_SECONDS

    assert CALLBACK_TIMEOUT_SECONDS < settings.OUTBOX_LEASE_SECONDS
