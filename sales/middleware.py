"""Counts every request into the per-minute rollup (sales.rollup)."""

from __future__ import annotations

import time

from sales import rollup

_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}


def _cause(request, response) -> str:
    """The API error code of a 4xx/5xx answer, or the class of what crashed;
    or the code a page marked as the reason it refused (`request.error_code`:
    a refused hold from the event page is a redirect back with a message)."""
    marked = getattr(request, "error_code", "")
    if response.status_code < 400:
        return str(marked)
    # Set by process_exception below, or by the API's exception handler for a
    # crash inside a DRF view (which answers the 500 itself).
    crashed = getattr(request, "unhandled_exception", "")
    if crashed:
        return crashed
    data = getattr(response, "data", None)  # a DRF Response: the API's error body
    if isinstance(data, dict) and isinstance(data.get("error"), dict):
        return str(data["error"].get("code", ""))
    return ""


class RequestRollupMiddleware:
    """Outermost but the metrics: it sees the status every other middleware made."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        view = (match.view_name or match.url_name or "<unnamed>") if match else "<unresolved>"
        slug = (match.kwargs.get("slug") or "") if match else ""
        rollup.record(
            view=view,
            method=request.method if request.method in _METHODS else "OTHER",
            status=f"{response.status_code // 100}xx",
            cause=_cause(request, response),
            event=str(slug),
            duration_ms=int((time.perf_counter() - started) * 1000),
        )
        return response

    def process_exception(self, request, exception):
        # A view that raised (Django then renders handler500): keep its class.
        request.unhandled_exception = type(exception).__name__
        return None
