"""Queueing's receivers of lower layers' signals.

A duplicated event (events.signals.event_duplicated) gets the source's
waiting room, shifted like its sale phases.

Sign-in keeps the buyer's place: the account takes over the device's.

Queueing listens to accounts (not the other way round): the buyer identity
changes from `device:<id>` to the account's key at sign-in (accounts.selectors.
buyer_identity), and without this hand-over the account would hold a pass
bound to the device, refused by every hold.
"""

from __future__ import annotations

import logging

from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from redis.exceptions import RedisError

from accounts.selectors import account_key, device_key
from events.signals import event_duplicated
from queueing import services

logger = logging.getLogger(__name__)


@receiver(user_logged_in, dispatch_uid="queueing.hand_over_places")
def hand_over_places(sender, request, user, **kwargs):
    device = device_key(request) if request is not None else None
    if device is None:
        return
    try:
        services.queue_handover(from_visitor=device, to_visitor=account_key(user))
    except RedisError:
        # Sign-in must not fail with the waiting room: the waiting page hands
        # the place over when it next sees the device's token.
        logger.exception("queue hand-over at sign-in failed")


@receiver(event_duplicated, dispatch_uid="queueing.copy_waiting_room")
def copy_waiting_room(sender, source, copy, offset, actor=None, **kwargs):
    """A duplicated event gets the source's waiting room settings, in the
    duplicate's transaction (events may not import queueing: DESIGN layers)."""
    services.room_copy(source_event=source, event=copy, offset=offset, actor=actor)
