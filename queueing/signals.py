"""Sign-in keeps the buyer's place: the account takes over the device's.

Queueing listens to accounts (not the other way round): the buyer identity
changes from `device:<id>` to `user:<id>` at sign-in (accounts.selectors.
buyer_identity), and without this hand-over the account would hold a pass
bound to the device, refused by every hold.
"""

from __future__ import annotations

import logging

from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from redis.exceptions import RedisError

from accounts.selectors import device_key
from queueing import services

logger = logging.getLogger(__name__)


@receiver(user_logged_in, dispatch_uid="queueing.hand_over_places")
def hand_over_places(sender, request, user, **kwargs):
    device = device_key(request) if request is not None else None
    if device is None:
        return
    try:
        services.queue_handover(from_visitor=device, to_visitor=f"user:{user.pk}")
    except RedisError:
        # Sign-in must not fail with the waiting room: the waiting page hands
        # the place over when it next sees the device's token.
        logger.exception("queue hand-over at sign-in failed")
