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
    """The buyer behind a request (page or API).

    Order of precedence: the signed-in account; then, for partner API keys,
    the partner's own customer reference (`buyer_ref`); then the device cookie
    set by accounts.middleware.DeviceCookieMiddleware.
    """
    partner = getattr(request, "partner", None)
    channel = partner.channel if partner is not None else WEB_CHANNEL
    partner_id = partner.pk if partner is not None else None
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return Buyer(channel=channel, key=f"user:{user.pk}", user_id=user.pk, partner_id=partner_id)
    if partner is not None and buyer_ref:
        return Buyer(channel=channel, key=f"{channel}:{buyer_ref}", partner_id=partner_id)
    return Buyer(channel=channel, key=f"device:{request.device_id}", partner_id=partner_id)
