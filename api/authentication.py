from __future__ import annotations

import hmac
from datetime import timedelta

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from api.models import ApiKey

LAST_USED_RESOLUTION = timedelta(minutes=1)


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
        key = (
            ApiKey.objects.select_related("partner")
            .filter(prefix=prefix[: ApiKey.PREFIX_LENGTH])
            .first()
        )
        if key is None or not hmac.compare_digest(key.hashed_key, ApiKey.hash(raw)):
            raise exceptions.AuthenticationFailed(_("Unknown API key."))
        if not key.is_active:
            raise exceptions.AuthenticationFailed(_("This API key has been revoked."))
        now = timezone.now()
        if key.last_used_at is None or now - key.last_used_at > LAST_USED_RESOLUTION:
            # At most one write a minute per key: "last used" need not be exact.
            ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
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
