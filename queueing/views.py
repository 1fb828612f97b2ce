"""The waiting page /e/<slug>/queue/: join (POST form) and the server-rendered
status (works without JavaScript through a meta refresh; with JS the page
polls only the cacheable public state, see static/js/queue.js)."""

from __future__ import annotations

from django.conf import settings
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from accounts.selectors import buyer_identity, device_key
from queueing import selectors, services, state, tokens, wait
from queueing.exceptions import RoomRestarting, TokenInvalid
from queueing.models import WaitingRoom
from ticketing.cookies import pass_cookie
from ticketing.errors import KassaError

TOKEN_COOKIE = "kassa_queue_{room}"  # noqa: S105 (a cookie name)


def _refresh_seconds(position: int | None) -> int:
    # The no-JS fallback follows the same budget: farther back, slower.
    if position is None:
        return 20
    return int(min(60, 5 + position / 200))


@require_http_methods(["GET", "POST"])
def queue_page(request, slug: str):
    room_id = selectors.room_id_for_slug(slug)
    if not room_id:
        raise Http404
    cookie = TOKEN_COOKIE.format(room=room_id)
    error = None
    if request.method == "POST":
        # "again": the buyer's pass ended (paid, or time ran out): a new
        # number at the back (services.queue_rejoin).
        again = request.POST.get("action") == "again"
        join = services.queue_rejoin if again else services.queue_join
        try:
            buyer = buyer_identity(request)
            joined = join(room_id=room_id, visitor=buyer.key, notify_as=buyer.partner_ref)
        except KassaError as exc:
            error = exc.message
        else:
            response = HttpResponseRedirect(request.path)
            response.set_cookie(cookie, joined.token, max_age=7 * 24 * 3600, httponly=True,
                                samesite="Lax", secure=request.is_secure())  # fmt: skip
            return response
    st = state.read(room_id)
    public = selectors.room_public_state(room_id=room_id) if st else None
    status = None
    cookie_token = request.COOKIES.get(cookie)
    token = _own_token(request, room_id, cookie_token) if st else cookie_token
    if token:
        try:
            status = selectors.queue_status(token=token)
        except (TokenInvalid, RoomRestarting):
            status = None
    parts = wait.words_parts()
    response = render(
        request,
        "queueing/queue.html",
        {
            "slug": slug,
            "title": st.get("title") or _event_title(room_id),
            "event_id": st.get("event"),
            # The name queue.js stores the pass under: the server's one name.
            "pass_cookie": pass_cookie(int(st["event"])) if st.get("event") else "",
            # When the page should look for its drawn number (services.draw_at).
            "draw_at": int(float(st.get("sale_at") or 0)) - settings.QUEUE_DRAW_LEAD_SECONDS,
            "public": public,
            "status": status,
            "token": token if status else None,
            "error": error,
            "refresh": _refresh_seconds(status and status.get("position")),
            "progress": _progress(status, public),
            # The wait in words, and the phrases queue.js says it with between
            # polls (queueing/wait.py: one rule for the server and the page).
            "eta_words": wait.words(status.get("eta_seconds"), parts) if status else None,
            "words_parts": parts,
            "again": _again(request, status, public),
        },
    )
    fresh = (status or {}).get("token") or (token if token != cookie_token else None)
    if fresh:
        response.set_cookie(cookie, fresh, max_age=7 * 24 * 3600, httponly=True,
                            samesite="Lax", secure=request.is_secure())  # fmt: skip
    elif cookie_token and not token:
        response.delete_cookie(cookie, samesite="Lax")
    if status and status.get("pass"):
        response.set_cookie(pass_cookie(status["event_id"]), status["pass"],
                            max_age=max(status["pass_expires_at"] - int(_now()), 1),
                            samesite="Lax", secure=request.is_secure())  # fmt: skip
    return response


def _event_title(room_id: int) -> str:
    # Only while the room's live state is not built yet (it carries the title).
    room = WaitingRoom.objects.select_related("event").filter(pk=room_id).first()
    return room.event.title if room else ""


def _again(request, status: dict | None, public: dict | None) -> str | None:
    """What the page offers a buyer whose pass ended or ran out: "join" (the
    button that joins again at the back), or why not: "limit" (they have the
    phase's per-buyer limit already), "closed", "sold_out"."""
    if not status or status["state"] not in ("done", "expired"):
        return None
    if public and public["state"] in ("closed", "sold_out"):
        return public["state"]
    limit_reached = selectors.buyer_limit_reached(
        event_id=status["event_id"], buyer_key=buyer_identity(request).key, cap=status["cap"]
    )
    return "limit" if limit_reached else "join"


def _own_token(request, room_id: int, token: str | None) -> str | None:
    """The queue token of the buyer this request is, whatever the cookie holds.

    The page, the pass it hands out and every hold must speak for the same
    buyer (accounts.selectors.buyer_identity). A cookie token of another
    visitor is the device's from before a sign-in (its place is handed over
    to the account here too, in case the sign-in could not: idempotent) or
    the account's from before a sign-out: the page then shows the place this
    buyer has now, if any (None: the join form).
    """
    data = tokens.token_read(token) if token else None
    if data is None or int(data["r"]) != room_id:
        return token  # no token, or a bad one: queue_status says so
    buyer = buyer_identity(request).key
    if data["v"] == buyer:
        return token
    device = device_key(request)
    if request.user.is_authenticated and data["v"] == device:
        services.queue_handover(from_visitor=device, to_visitor=buyer)
    number, prequeue = state.place(room_id, buyer)
    if not number and not prequeue:
        return None
    return tokens.token_make(room_id=room_id, visitor=buyer, number=number, issued_at=_now())


def _now() -> float:
    import time

    return time.time()


def _progress(status: dict | None, public: dict | None) -> int:
    if not status or not public or not status.get("number"):
        return 0
    return int(min(100, 100 * public["serving"] / status["number"]))
