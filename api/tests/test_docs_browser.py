from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser


def test_swagger_docs_render_offline_in_chromium(live_server, page):
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    # Chromium reports each resource the Content-Security-Policy refuses here.
    refused: list[str] = []
    page.on(
        "console",
        lambda msg: refused.append(msg.text) if "Content Security Policy" in msg.text else None,
    )
    page.goto(f"{live_server.url}/api/v1/docs/")
    title = page.locator(".swagger-ui .info .title")
    title.wait_for(timeout=15_000)
    assert "kassa API" in title.inner_text()
    # The operations come from the live schema.
    page.locator(".opblock-summary-path", has_text="/api/v1/me/").wait_for(timeout=5_000)
    # Everything (Swagger UI's JS and CSS, the schema) came from us, not a CDN.
    outside = [url for url in requested if not url.startswith(live_server.url)]
    assert not outside, outside
    assert any("/static/drf_spectacular_sidecar/" in url for url in requested)
    # Swagger UI's start-up script is a same-origin URL, so the policy refuses nothing.
    assert f"{live_server.url}/api/v1/docs/?script=" in requested
    assert not refused, refused
