from __future__ import annotations

import json
import logging

import pytest
from django.http import HttpResponse
from django.test import RequestFactory

from ticketing.middleware import RequestIdMiddleware, client_ip


@pytest.mark.parametrize(
    ("proxies", "xff", "expected"),
    [
        (0, "6.6.6.6", "10.0.0.9"),  # no proxy: a client's header is ignored
        (1, "6.6.6.6, 203.0.113.5", "203.0.113.5"),  # nginx appended the real client
        (1, "203.0.113.5", "203.0.113.5"),
        (1, "", "10.0.0.9"),  # the proxy should have written one: its peer then
        (2, "6.6.6.6, 203.0.113.5, 10.1.1.1", "203.0.113.5"),
        (2, "10.1.1.1", "10.0.0.9"),  # fewer hops than proxies: nothing to trust
    ],
)
def test_client_ip_trusts_only_the_configured_proxies(settings, proxies, xff, expected):
    settings.TRUSTED_PROXY_COUNT = proxies
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.9", HTTP_X_FORWARDED_FOR=xff)
    assert client_ip(request) == expected


def test_request_log_lines_carry_the_client_address_by_the_same_rule(settings):
    from ticketing.logging import JsonFormatter, RequestIdFilter

    settings.TRUSTED_PROXY_COUNT = 1
    records: list[logging.LogRecord] = []

    def view(request):
        record = logging.makeLogRecord({"msg": "hold refused", "levelno": logging.INFO})
        RequestIdFilter().filter(record)
        records.append(record)
        return HttpResponse("ok")

    request = RequestFactory().get(
        "/", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.5"
    )
    RequestIdMiddleware(view)(request)
    line = json.loads(JsonFormatter().format(records[0]))
    assert line["client_ip"] == "203.0.113.5"
    assert line["message"] == "hold refused"
