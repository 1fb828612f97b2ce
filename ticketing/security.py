"""Who may frame the site: the partners' webviews (FRAME_ANCESTORS), never the admin."""

from __future__ import annotations

from collections.abc import Callable

from csp.constants import NONE
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import reverse


class FrameAncestorsMiddleware:
    """With FRAME_ANCESTORS set, the buyer pages may be framed by those origins:
    CSP frame-ancestors lists them (settings) and X-Frame-Options is left out, as
    it cannot name origins and a browser honouring it would refuse the frame.
    Staff admin keeps frame-ancestors 'none' and X-Frame-Options DENY: framed by
    a partner, its buttons could be clickjacked.

    Sits inside CSPMiddleware and XFrameOptionsMiddleware, which read its marks.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not settings.FRAME_ANCESTORS:
            return response
        if request.path_info.startswith(reverse("admin:index")):
            response._csp_replace = {"frame-ancestors": [NONE]}  # type: ignore[attr-defined]
        else:
            response.xframe_options_exempt = True  # type: ignore[attr-defined]
        return response
