"""Request-level identity plumbing: the signed device cookie for guests, and
the per-account session epoch behind "sign out everywhere"."""

from __future__ import annotations

import secrets

from django.contrib.auth.models import AnonymousUser
from django.core import signing
from django.utils.functional import SimpleLazyObject

COOKIE = "kassa_device"
SALT = "kassa.device"
MAX_AGE = 365 * 24 * 3600
SESSION_EPOCH_KEY = "kassa_session_epoch"


class DeviceCookieMiddleware:
    """Give every browser a signed, long-lived device id (`request.device_id`).

    It identifies a guest for the waiting room and per-buyer limits. The
    cookie is signed so an id cannot be chosen or guessed: a missing, forged
    or expired cookie gets a fresh random id and a new cookie. It is set only
    then, so status polls write nothing.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        device_id = None
        raw = request.COOKIES.get(COOKIE)
        if raw:
            try:
                device_id = signing.loads(raw, salt=SALT, max_age=MAX_AGE)
            except signing.BadSignature:  # includes SignatureExpired
                device_id = None
            if not isinstance(device_id, str):
                device_id = None
        is_new = device_id is None
        request.device_id = device_id or secrets.token_urlsafe(16)
        response = self.get_response(request)
        if is_new:
            response.set_cookie(
                COOKIE,
                signing.dumps(request.device_id, salt=SALT),
                max_age=MAX_AGE,
                httponly=True,
                samesite="Lax",
                secure=request.is_secure(),
            )
        return response


def _checked_user(request, user):
    if not user.is_authenticated:
        return user
    from accounts.models import Profile

    row = Profile.objects.filter(user_id=user.pk).values_list("session_epoch", "phone").first()
    current, phone = row if row is not None else (None, None)
    if current is not None and request.session.get(SESSION_EPOCH_KEY) == current:
        # The same query gives the buyer key's phone (accounts.selectors.account_key).
        user.kassa_phone = phone or ""
        return user
    # Not auth.logout(): it reads request.user, which is being resolved here.
    request.session.flush()
    return AnonymousUser()


class SessionEpochMiddleware:
    """Drop sessions stamped with an older epoch than the account's profile.

    Every sign-in stamps the profile's `session_epoch` into the session
    (accounts.signals); accounts.services.sessions_revoke_all rotates it,
    which ends every other session at its next request. The check stays lazy,
    like Django's own `request.user`: requests that never look at the user
    (queue status polls) cost no query. Goes right after AuthenticationMiddleware.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        request.user = SimpleLazyObject(lambda: _checked_user(request, user))
        return self.get_response(request)
