"""orders 0012: holds and orders of phone accounts move to the phone's key."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.db import connection

from accounts.models import Profile
from accounts.selectors import Buyer, phone_key, phone_sha256_of
from orders.exceptions import LimitExceeded
from orders.models import Hold, Order
from orders.services.holds import hold_create
from orders.tests.factories import make_event, order_make, seat_ids

pytestmark = pytest.mark.django_db
rekey = importlib.import_module("orders.migrations.0013_phone_buyer_keys")._rekey


class _Editor:
    connection = connection


def test_phone_accounts_keep_their_limit_across_the_new_key():
    event = make_event(limit=6)
    by_phone = get_user_model().objects.create_user("p")
    Profile.objects.create(user=by_phone, phone="+77012345678")
    by_mail = get_user_model().objects.create_user("m")
    before = order_make(event=event, seat_count=4)
    Hold.objects.filter(pk=before.hold_id).update(buyer_key=f"user:{by_phone.pk}")
    Order.objects.filter(pk=before.pk).update(buyer_key=f"user:{by_phone.pk}")
    other = order_make(event=event, seat_count=1)
    Order.objects.filter(pk=other.pk).update(buyer_key=f"user:{by_mail.pk}")

    rekey(apps, _Editor())

    key = phone_key(phone_sha256=phone_sha256_of("+77012345678"))
    before.refresh_from_db()
    other.refresh_from_db()
    assert before.buyer_key == key and Hold.objects.get(pk=before.hold_id).buyer_key == key
    assert other.buyer_key == f"user:{by_mail.pk}"
    buyer = Buyer(channel="web", key=key, user_id=by_phone.pk)
    free = [s for s in seat_ids(event) if s not in before.hold.seat_ids][:3]
    with pytest.raises(LimitExceeded):
        hold_create(event=event, buyer=buyer, seats=free)  # 4 + 3 > 6
