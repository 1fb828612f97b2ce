"""The partner's customer in API requests: `buyer_ref` and, optionally, the
customer's verified phone as `phone_sha256` (accounts.selectors.phone_key)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

PHONE_SHA256_HELP = (
    "Partner keys only, with buyer_ref: the customer's phone number, verified by the "
    "partner, as the lower-case hex SHA-256 of its E.164 form in UTF-8 (`+77011234567`: "
    "plus, country code, national number; no spaces, dashes or trunk zero). The same "
    "phone is one buyer everywhere: the site's account that signs in with it and every "
    "partner's customer with it share one waiting-room place and one per-buyer limit. "
    "Send the same buyer_ref and phone_sha256 on every call for that customer. kassa keeps "
    "only a keyed hash of it (HMAC with a server secret), never the phone."
)


def phone_sha256_field() -> serializers.RegexField:
    return serializers.RegexField(
        r"^[0-9a-f]{64}\Z",
        required=False,
        allow_blank=True,
        help_text=PHONE_SHA256_HELP,
        error_messages={
            "invalid": _(
                "phone_sha256 must be 64 lower-case hex digits (SHA-256 of the E.164 phone)."
            )
        },
    )


def phone_sha256_check(attrs: dict) -> dict:
    """A phone names a partner's customer only together with their buyer_ref."""
    if attrs.get("phone_sha256") and not attrs.get("buyer_ref"):
        raise serializers.ValidationError(
            {"phone_sha256": [_("Send phone_sha256 together with buyer_ref.")]}
        )
    return attrs
