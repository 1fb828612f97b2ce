from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass

from ticketing.signing import shared_secret

WEB_CHANNEL = "web"
# The session of a partner's customer inside the partner's app (api.views.
# webview_start writes it after checking the partner's one-time token): a dict
# {"partner": id, "slug": slug, "ref": buyer_ref, "phone": phone key or ""}.
PARTNER_CUSTOMER_SESSION_KEY = "kassa_partner_customer"
PHONE_SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class Buyer:
    """Who is buying, resolved once per request and passed to services.

    `key` is the one identity that per-buyer limits and the waiting room count
    by: `phone:<digest>` for a verified phone (a site account that signed in
    with it, or a partner's customer whose phone the partner vouches for, see
    phone_key), else `user:<id>` for a signed-in account, else
    `partner:<slug>:<ref>` for a partner app's customer, else `device:<id>`
    from the signed device cookie.
    """

    channel: str  # "web" or "partner:<slug>"
    key: str
    user_id: int | None = None
    partner_id: int | None = None
    # A partner's customer in a webview session, not the partner's server with
    # its API key: sees only its own orders and holds, not the whole partner's.
    partner_customer: bool = False
    # `partner:<slug>:<ref>` for a partner's customer (API buyer_ref or webview),
    # whatever the key: whom the partner's webhooks (queue.admitted) name.
    partner_ref: str = ""


def buyer_identity(request, *, buyer_ref: str | None = None, phone_sha256: str = "") -> Buyer:
    """The buyer behind a request (page or API): THE key for per-buyer limits
    and the waiting room's one-place-per-person.

    Order of precedence:
    1. a signed-in account (session, pages) -> account_key: `phone:<digest>`
       when it signed in with a phone, else `user:<id>`, whatever the channel,
       so a buyer is one person across tabs and devices;
    2. a partner API key with the partner's own customer reference
       (`buyer_ref`, e.g. the bank's customer id) -> `partner:<slug>:<ref>`;
       refs are namespaced by partner so two partners cannot collide. With
       `phone_sha256` (the customer's verified phone, hashed, see phone_key)
       -> `phone:<digest>`: the same person as the site's account of that
       phone and as that phone at any other partner;
    3. a partner's customer in the partner's webview (the session written by
       api.views.webview_start) -> the same key rule 2 gives that customer;
    4. otherwise the signed device cookie (`request.device_id`, set by
       accounts.middleware.DeviceCookieMiddleware) -> `device:<id>`. The
       cookie is signed, so a guest cannot pick another guest's id.
    `buyer_ref` and `phone_sha256` are ignored for site (non-partner) callers,
    webview sessions included: a browser must not be able to claim an
    identity by sending a parameter.
    """
    partner = getattr(request, "partner", None)
    user = getattr(request, "user", None)
    if partner is None:
        customer = _partner_customer(request)
        if customer is not None and not (user is not None and user.is_authenticated):
            channel = f"partner:{customer['slug']}"
            ref = f"{channel}:{customer['ref']}"
            return Buyer(
                channel=channel,
                key=customer["phone"] or ref,
                partner_id=customer["partner"],
                partner_customer=True,
                partner_ref=ref,
            )
    channel = partner.channel if partner is not None else WEB_CHANNEL
    partner_id = partner.pk if partner is not None else None
    if user is not None and user.is_authenticated:
        return Buyer(channel=channel, key=account_key(user), user_id=user.pk, partner_id=partner_id)
    if partner is not None and buyer_ref:
        ref = f"{channel}:{buyer_ref}"
        key = phone_key(phone_sha256=phone_sha256) if phone_sha256 else ref
        return Buyer(channel=channel, key=key, partner_id=partner_id, partner_ref=ref)
    return Buyer(channel=channel, key=device_key(request), partner_id=partner_id)


def _partner_customer(request) -> dict | None:
    session = getattr(request, "session", None)
    if session is None or PARTNER_CUSTOMER_SESSION_KEY not in session:
        return None
    customer = session[PARTNER_CUSTOMER_SESSION_KEY]
    return customer if isinstance(customer, dict) else None


def phone_sha256_of(phone: str) -> str:
    """What a partner sends as `phone_sha256`: the lower-case hex SHA-256 of the
    UTF-8 E.164 form of the number ("+77011234567": a plus, the country code
    and the national number, no spaces, dashes or leading zeros)."""
    return hashlib.sha256(phone.encode()).hexdigest()


def phone_key(*, phone_sha256: str) -> str:
    """The buyer key of a verified phone: `phone:<hex HMAC-SHA256 of the
    partner's phone_sha256 with BUYER_PHONE_KEY>`.

    Peppered with a server-side secret, so a leaked buyer key (orders, holds,
    queue state, logs) cannot be turned back into a phone by hashing every
    number, which a bare SHA-256 of a phone allows in minutes. Neither the
    phone nor its SHA-256 is stored. `phone_sha256` must already be checked
    (PHONE_SHA256).
    """
    secret = shared_secret("BUYER_PHONE_KEY", b"kassa.buyer-phone")
    return "phone:" + hmac.new(secret, phone_sha256.encode(), hashlib.sha256).hexdigest()


def account_key(user) -> str:
    """A signed-in account's buyer key: its verified phone's key (the same
    person a partner names with that phone), else `user:<id>`.

    An account's phone never changes (it is how the account signs in), so
    neither does its key."""
    phone = getattr(user, "kassa_phone", None)
    if phone is None:
        from accounts.models import Profile

        phone = Profile.objects.filter(user_id=user.pk).values_list("phone", flat=True).first()
        phone = phone or ""
        user.kassa_phone = phone
    return phone_key(phone_sha256=phone_sha256_of(phone)) if phone else f"user:{user.pk}"


def device_key(request) -> str | None:
    """This browser's guest identity, `device:<id>` (rule 3 of buyer_identity),
    whoever is signed in; None without a device cookie."""
    device_id = getattr(request, "device_id", None)
    return f"device:{device_id}" if device_id else None
