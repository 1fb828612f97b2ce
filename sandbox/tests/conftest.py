"""Fixtures of the sandbox acquirer's tests: a merchant that signs payment links."""

from __future__ import annotations

import json
import uuid
from decimal import Decimal

import pytest
from django.core import signing

from sandbox import gateway


class Merchant:
    """Plays the merchant's side of the protocol, as payments/sandbox.py does."""

    def __init__(self, client) -> None:
        self.client = client

    def link(self, *, payment_id: uuid.UUID | None = None, amount: str = "12000.00", **extra):
        payment_id = payment_id or uuid.uuid4()
        data = {
            "id": str(payment_id),
            "merchant": "test shop",
            "description": "order T1",
            "amount": amount,
            "currency": "KZT",
            "return_url": "http://shop.example/return/",
            "callback_url": "http://shop.example/callback/",
            **extra,
        }
        token = signing.dumps(
            data, key=gateway.merchant_secret().hex(), salt=gateway.LINK_SALT, compress=True
        )
        return payment_id, f"/sandbox-gateway/pay/{payment_id}/?p={token}"

    def pay(self, link: str, number: str = "4400 4300 0000 0001"):
        fields = {"card_number": number, "exp_month": "12", "exp_year": "2099", "cvc": "123"}
        return self.client.post(link, fields, HTTP_ACCEPT="application/json")

    def refund(self, payment_id, *, refund_id: str, amount: str | None = None, signature=None):
        raw = json.dumps({"refund_id": refund_id, "amount": amount}).encode()
        return self.client.post(
            f"/sandbox-gateway/api/payments/{payment_id}/refunds/",
            data=raw,
            content_type="application/json",
            HTTP_X_SANDBOX_SIGNATURE=gateway.sign(raw) if signature is None else signature,
        )

    def status(self, payment_id):
        path = f"/sandbox-gateway/api/payments/{payment_id}/"
        return self.client.get(path, HTTP_X_SANDBOX_SIGNATURE=gateway.sign(path.encode()))


@pytest.fixture
def merchant(client) -> Merchant:
    return Merchant(client)


def money(value: str) -> Decimal:
    return Decimal(value)
