from __future__ import annotations

from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

from accounts.middleware import SESSION_EPOCH_KEY
from accounts.models import Profile


@receiver(user_logged_in, dispatch_uid="accounts.stamp_session_epoch")
def stamp_session_epoch(sender, request, user, **kwargs):
    """Every sign-in (code, admin, test client) carries the account's epoch."""
    if request is None or not hasattr(request, "session"):
        return
    profile, _created = Profile.objects.get_or_create(user=user)
    request.session[SESSION_EPOCH_KEY] = profile.session_epoch
