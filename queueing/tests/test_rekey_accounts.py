"""manage.py queue_rekey_accounts: a phone account's live place moves to its phone's key."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from accounts.models import Profile
from accounts.selectors import phone_key, phone_sha256_of
from queueing import services

pytestmark = pytest.mark.django_db


def test_a_phone_accounts_place_is_handed_to_its_phone_key(room):
    user = get_user_model().objects.create_user("p")
    Profile.objects.create(user=user, phone="+77012345678")
    services.queue_join(room_id=room.pk, visitor="device:x")
    old = services.queue_join(room_id=room.pk, visitor=f"user:{user.pk}")  # number 2
    call_command("queue_rekey_accounts")
    key = phone_key(phone_sha256=phone_sha256_of("+77012345678"))
    assert services.queue_join(room_id=room.pk, visitor=key).number == old.number == 2
    call_command("queue_rekey_accounts")  # again: nothing changes
    assert services.queue_join(room_id=room.pk, visitor=key).number == 2
