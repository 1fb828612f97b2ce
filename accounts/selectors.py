from __future__ import annotations

from dataclasses import dataclass

WEB_CHANNEL = "web"


@dataclass(frozen=True)
class Buyer:
    """Who is buying, resolved once per request and passed to services.

    `key` is the one identity that per-buyer limits and the waiting room count
    by: `user:<id>` for a signed-in account, else `partner:<slug>:<ref>` for a
    partner app's customer, else `device:<id>` from the signed device cookie.
    """

    channel: str  # "web" or "partner:<slug>"
    key: str
    user_id: int | None = None
    partner_id: int | None = None


def buyer_identity(request, *, buyer_ref: str | None = None) -> Buyer:
    """The buyer behind a request (page or API): THE key for per-buyer limits
    and the waiting room's one-place-per-person.

    Order of precedence:
    1. a signed-in account (session, pages) -> `user:<id>`, whatever the
       channel, so a buyer is one person across tabs and devices;
    2. a partner API key with the partner's own customer reference
       (`buyer_ref`, e.g. the bank's customer id) -> `partner:<slug>:<ref>`;
       refs are namespaced by partner so two partners cannot collide;
    3. otherwise the signed device cookie (`request.device_id`, set by
       accounts.middleware.DeviceCookieMiddleware) -> `device:<id>`. The
       cookie is signed, so a guest cannot pick another guest's id.
    `buyer_ref` is ignored for site (non-partner) callers: a browser must not
    be able to claim an identity by sending a parameter.
    """
    partner = getattr(request, "partner", None)
    channel = partner.channel if partner is not None else WEB_CHANNEL
    partner_id = partner.pk if partner is not None else None
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return Buyer(channel=channel, key=f"user:{user.pk}", user_id=user.pk, partner_id=partner_id)
    if partner is not None and buyer_ref:
        return Buyer(channel=channel, key=f"{channel}:{buyer_ref}", partner_id=partner_id)
    return Buyer(channel=channel, key=device_key(request), partner_id=partner_id)


def device_key(request) -> str | None:
    """This browser's guest identity, `device:<id>` (rule 3 of buyer_identity),
    whoever is signed in; None without a device cookie."""
    device_id = getattr(request, "device_id", None)
    return f"device:{device_id}" if device_id else None
