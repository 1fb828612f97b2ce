from __future__ import annotations

import copy
import hmac
import threading
import time
from datetime import timedelta

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from api.models import ApiKey

LAST_USED_RESOLUTION = timedelta(minutes=1)

# A partner's key is looked up once per process every API_KEY_CACHE_SECONDS
# instead of on every call (a SELECT with the partner join, ~0.3 ms of ORM
# and a round trip per request). A revoke or a key/partner save drops the
# cache of the process that made it at once (api.signals, api_key_revoke);
# other processes refuse the key within these seconds. Only keys that
# authenticated are kept: junk keys cannot fill the cache.
API_KEY_CACHE_SECONDS = 5.0
_CACHE_MAX = 1000
_keys: dict[str, tuple[float, ApiKey]] = {}
_keys_lock = threading.Lock()


def api_key_cache_forget() -> None:
    """Drop every cached key of this process (on a key or partner change)."""
    with _keys_lock:
        _keys.clear()


def _key_by_hash(hashed: str, prefix: str) -> ApiKey | None:
    """The key row (with its partner) whose hash is `hashed`, cached briefly."""
    now = time.monotonic()
    hit = _keys.get(hashed)
    if hit is not None and hit[0] > now:
        return hit[1]
    key = ApiKey.objects.select_related("partner").filter(prefix=prefix).first()
    if key is None or not hmac.compare_digest(key.hashed_key, hashed):
        return None
    with _keys_lock:
        if len(_keys) >= _CACHE_MAX:
            _keys.clear()
        _keys[hashed] = (now + API_KEY_CACHE_SECONDS, key)
    return key


def _request_copy(key: ApiKey) -> ApiKey:
    # The cached instances are shared by this process's requests: each
    # request gets its own copy (of the partner too), so nothing a view does
    # to request.auth or request.partner reaches the next request.
    own = copy.copy(key)
    own.partner = copy.copy(key.partner)
    return own


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """`Authorization: Api-Key <key>` → (AnonymousUser-like None user, ApiKey).

    On success `request.auth` is the ApiKey; `request.partner` its Partner.
    """

    keyword = "Api-Key"

    def authenticate(self, request):
        # Not DRF's get_authorization_header: it raises UnicodeEncodeError (a
        # 500) on a header that is not latin-1; such a key is just unknown.
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if not header:
            return None  # anonymous, or the site's own pages (session)
        if not header.startswith(self.keyword + " "):
            # `Bearer junk` used to pass as anonymous: a partner whose key
            # never reached us must hear so, not read the public catalogue.
            raise exceptions.AuthenticationFailed(
                _("Unsupported Authorization header; send Api-Key <key>.")
            )
        raw = header[len(self.keyword) + 1 :].strip()
        prefix = raw.split(".", 1)[0]
        cached = _key_by_hash(ApiKey.hash(raw), prefix[: ApiKey.PREFIX_LENGTH])
        if cached is None:
            raise exceptions.AuthenticationFailed(_("Unknown API key."))
        if not cached.is_active:
            raise exceptions.AuthenticationFailed(_("This API key has been revoked."))
        now = timezone.now()
        if cached.last_used_at is None or now - cached.last_used_at > LAST_USED_RESOLUTION:
            # At most one write a minute per key and process: "last used"
            # need not be exact.
            ApiKey.objects.filter(pk=cached.pk).update(last_used_at=now)
            cached.last_used_at = now
        key = _request_copy(cached)
        request._request.partner = key.partner
        return (None, key)

    def authenticate_header(self, request):
        return self.keyword


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "api.authentication.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Api-Key <key>` as issued in admin.",
        }
