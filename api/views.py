"""The partner's webview entry page: its app opens `/webview/?token=…`."""

from __future__ import annotations

from django.contrib.auth import logout
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from accounts.selectors import PARTNER_CUSTOMER_SESSION_KEY
from api.exceptions import WebviewTokenInvalid
from api.services import webview_next_path, webview_token_redeem

WEBVIEW_SESSION_SECONDS = 2 * 3600


@never_cache
@require_GET
def webview_start(request):
    """Spend the partner's one-time token and start a session as its customer,
    then go to `next` (a path on this site) or the path the token was minted for.

    Login CSRF: a spent or stolen link must not put someone else's browser
    into a partner customer's session. The token is single-use and short-lived,
    and the page refuses what a browser marks as coming from another page
    (`Sec-Fetch-Site` other than `none`): an app opening its webview sends
    `none` (or, older ones, nothing); a link on a web page does not.
    """
    if request.headers.get("Sec-Fetch-Site", "none") != "none":
        return _refused(request, WebviewTokenInvalid())
    try:
        token = webview_token_redeem(raw=request.GET.get("token"))
    except WebviewTokenInvalid as exc:
        return _refused(request, exc)
    # A new session (and cookie): nobody who used this browser before, an
    # account or another customer, carries over into this one.
    logout(request)
    request.session[PARTNER_CUSTOMER_SESSION_KEY] = {
        "partner": token.partner_id,
        "slug": token.partner.slug,
        "ref": token.buyer_ref,
        "phone": token.phone_key,
    }
    request.session.set_expiry(WEBVIEW_SESSION_SECONDS)
    response = redirect(webview_next_path(request.GET.get("next")) or token.next_path)
    # The token stays out of the next page's Referer.
    response["Referrer-Policy"] = "no-referrer"
    return response


def _refused(request, exc: WebviewTokenInvalid):
    response = render(
        request,
        "api/webview_refused.html",
        {"message": exc.message, "code": exc.code},
        status=exc.status,
    )
    response["Referrer-Policy"] = "no-referrer"
    return response
