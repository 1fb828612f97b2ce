"""The waiting page /e/<slug>/queue/: join (POST form) and the server-rendered
status (works without JavaScript through a meta refresh; with JS the page
polls only the cacheable public state, see static/js/queue.js)."""

from __future__ import annotations

from django.conf import settings
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from accounts.selectors import buyer_identity
from queueing import selectors, services, state
from queueing.exceptions import RoomRestarting, TokenInvalid
from ticketing.errors import KassaError

TOKEN_COOKIE = "kassa_queue_{room}"  # noqa: S105 (a cookie name)
PASS_COOKIE = "kassa_pass_{event}"  # noqa: S105


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
        try:
            joined = services.queue_join(room_id=room_id, visitor=buyer_identity(request).key)
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
    token = request.COOKIES.get(cookie)
    if token:
        try:
            status = selectors.queue_status(token=token)
        except (TokenInvalid, RoomRestarting):
            status = None
    response = render(
        request,
        "queueing/queue.html",
        {
            "slug": slug,
            "title": st.get("title", slug),
            "event_id": st.get("event"),
            # When the page should look for its drawn number (services.draw_at).
            "draw_at": int(float(st.get("sale_at") or 0)) - settings.QUEUE_DRAW_LEAD_SECONDS,
            "public": public,
            "status": status,
            "token": token if status else None,
            "error": error,
            "refresh": _refresh_seconds(status and status.get("position")),
            "progress": _progress(status, public),
        },
    )
    if status and status.get("token"):
        response.set_cookie(cookie, status["token"], max_age=7 * 24 * 3600, httponly=True,
                            samesite="Lax", secure=request.is_secure())  # fmt: skip
    if status and status.get("pass"):
        response.set_cookie(PASS_COOKIE.format(event=status["event_id"]), status["pass"],
                            max_age=max(status["pass_expires_at"] - int(_now()), 1),
                            samesite="Lax", secure=request.is_secure())  # fmt: skip
    return response


def _now() -> float:
    import time

    return time.time()


def _progress(status: dict | None, public: dict | None) -> int:
    if not status or not public or not status.get("number"):
        return 0
    return int(min(100, 100 * public["serving"] / status["number"]))
