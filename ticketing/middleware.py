"""Request id: honour the caller's `X-Request-ID` or make one, log with it.
And the one rule for who the client is (`client_ip`)."""

from __future__ import annotations

import re
import uuid

from django.conf import settings

from ticketing.logging import client_ip_var, request_id_var

# Accept only short, harmless ids from outside; anything else is replaced.
_VALID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def client_ip(request) -> str | None:
    """The caller's address, for per-IP throttles, the staff-login lockout and
    the logs: the one rule, used everywhere.

    Behind TRUSTED_PROXY_COUNT reverse proxies that each append the address
    they saw to X-Forwarded-For (nginx's $proxy_add_x_forwarded_for), the
    client is the TRUSTED_PROXY_COUNT-th address from the right: entries
    further left are whatever the client sent and cannot be trusted (rotating
    them walked past every per-IP limit). With 0 proxies, or a header shorter
    than the proxies that should have written it, it is REMOTE_ADDR.
    """
    count = settings.TRUSTED_PROXY_COUNT
    if count:
        hops = [h.strip() for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        hops = [h for h in hops if h]
        if len(hops) >= count:
            return hops[-count][:64]  # an address, not a payload: bounded for keys and logs
    return request.META.get("REMOTE_ADDR") or None


class RequestIdMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _VALID.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id
        token = request_id_var.set(request_id)
        ip_token = client_ip_var.set(client_ip(request))
        try:
            response = self.get_response(request)
        finally:
            client_ip_var.reset(ip_token)
            request_id_var.reset(token)
        response["X-Request-ID"] = request_id
        return response
