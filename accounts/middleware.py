from __future__ import annotations

import secrets

from django.core import signing

COOKIE = "kassa_device"
SALT = "kassa.device"
MAX_AGE = 365 * 24 * 3600


class DeviceCookieMiddleware:
    """Give every browser a signed, long-lived device id (`request.device_id`).

    It identifies a guest for the waiting room and per-buyer limits. The
    cookie is signed so an id cannot be chosen or guessed; it is set only
    when missing, so status polls write nothing.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        device_id = None
        raw = request.COOKIES.get(COOKIE)
        if raw:
            try:
                device_id = signing.loads(raw, salt=SALT, max_age=MAX_AGE)
            except signing.BadSignature:
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
