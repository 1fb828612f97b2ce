"""deploy/nginx.conf for real: Debian's nginx in front of the fake upstream."""

from __future__ import annotations

import gzip
import json
import time
import urllib.request
from pathlib import Path

import pytest

from bench.common import Processes, free_port, nginx_start, wait_http
from bench.fake_server import SLUG, FakeKassa, serve

pytestmark = pytest.mark.skipif(
    not Path("/usr/sbin/nginx").exists(), reason="Debian nginx not installed"
)


@pytest.fixture
def nginx(tmp_path):
    kassa = FakeKassa(places=100, open_in=0, rate_per_minute=60)
    upstream = serve(kassa)
    processes = Processes(tmp_path)
    port = free_port()
    nginx_start(processes, prefix=tmp_path / "nginx", listen_port=port,
                upstream_port=upstream.server_address[1], static_root=tmp_path)  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    wait_http(f"{base}/healthz", processes=processes)
    yield base
    processes.stop_all()
    upstream.shutdown()
    upstream.server_close()


def _get(url: str, headers: dict | None = None):
    request = urllib.request.Request(url, headers=headers or {})
    with urllib.request.urlopen(request, timeout=5) as response:
        return response.status, response.headers, response.read()


def test_queue_state_is_micro_cached_for_one_second_without_cookies(nginx):
    url = f"{nginx}/api/v1/events/{SLUG}/queue/state/"
    _status, first, _ = _get(url)
    _status, second, body = _get(url)
    assert first["X-Cache-Status"] in {"MISS", "EXPIRED", "UPDATING"}
    assert second["X-Cache-Status"] == "HIT"
    assert json.loads(body)["state"] in {"open", "sold_out"}
    assert "Set-Cookie" not in second
    time.sleep(2.2)  # nginx keeps cache times in whole seconds
    _status, later, _ = _get(url)
    assert later["X-Cache-Status"] != "HIT"


def test_other_api_calls_are_not_cached_and_keep_their_cookies(nginx):
    request = urllib.request.Request(f"{nginx}/api/v1/events/{SLUG}/queue/join/", data=b"{}",
                                     headers={"Content-Type": "application/json"})  # fmt: skip
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.status == 201
        assert "kassa_device=" in response.headers["Set-Cookie"]
        assert "X-Cache-Status" not in response.headers


def test_json_is_gzipped_for_clients_that_accept_it(nginx):
    _status, headers, body = _get(
        f"{nginx}/api/v1/events/{SLUG}/availability/?section=1", {"Accept-Encoding": "gzip"}
    )
    assert headers["Content-Encoding"] == "gzip"
    assert "seats" in json.loads(gzip.decompress(body))
