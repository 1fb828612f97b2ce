from __future__ import annotations

import os

import pytest

pytestmark = pytest.mark.browser


@pytest.fixture(scope="session")
def async_unsafe_ok(django_db_setup):
    """Playwright's sync API keeps an event loop running in this thread from
    the first `browser` use to the end of the session, so Django refuses DB
    calls here (the flush after a live_server test) unless told they are safe,
    which they are: nothing else runs in that loop. Session-scoped and
    requested before `page`, so it outlives the browser; the test database is
    created before the loop starts."""
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    yield
    if previous is None:
        del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


def test_swagger_docs_render_offline_in_chromium(async_unsafe_ok, live_server, page):
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
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
