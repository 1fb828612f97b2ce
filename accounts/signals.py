from __future__ import annotations

from django.contrib.auth.signals import user_logged_in
from django.dispatch import Signal, receiver

from accounts.middleware import SESSION_EPOCH_KEY
from accounts.models import Profile

# Sent when a buyer has just proved an e-mail or phone with a one-time code
# (accounts.services.code_verify), inside its transaction, with `user`,
# `email` and `phone` (the one not proved is None). Receivers run in that
# transaction: orders attaches the guest orders placed with that contact.
# A signal, so that accounts (a low layer) does not import orders.
identity_verified = Signal()


@receiver(user_logged_in, dispatch_uid="accounts.stamp_session_epoch")
def stamp_session_epoch(sender, request, user, **kwargs):
    """Every sign-in (code, admin, test client) carries the account's epoch."""
    if request is None or not hasattr(request, "session"):
        return
    profile, _created = Profile.objects.get_or_create(user=user)
    request.session[SESSION_EPOCH_KEY] = profile.session_epoch
