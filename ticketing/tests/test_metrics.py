from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from django.test import Client

from ticketing import metrics

ROOT = Path(__file__).resolve().parents[2]


def test_metrics_answers_loopback_with_the_request_histogram():
    client = Client(REMOTE_ADDR="127.0.0.1")
    assert client.get("/healthz").status_code == 200
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    body = response.content.decode()
    assert (
        'kassa_http_request_duration_seconds_count{method="GET",status="2xx",view="healthz"}'
        in body
    )
    for name in ("kassa_holds_total", "kassa_orders_total", "kassa_payments_total"):
        assert f"# TYPE {name} counter" in body


def test_each_view_counts_the_cpu_time_its_requests_took():
    before = metrics.request_cpu_totals().get("GET healthz", 0.0)
    client = Client(REMOTE_ADDR="127.0.0.1")
    for _ in range(20):
        assert client.get("/healthz").status_code == 200
    spent = metrics.request_cpu_totals()["GET healthz"] - before
    # Some CPU, and less than the wall time the 20 requests took in all.
    assert 0 < spent < 20
    assert "kassa_http_request_cpu_seconds_total" in client.get("/metrics").content.decode()


def test_metrics_refuses_remote_and_proxied_callers():
    assert Client(REMOTE_ADDR="10.1.2.3").get("/metrics").status_code == 403
    # nginx connects from 127.0.0.1 but says who the caller was: not local.
    proxied = Client(REMOTE_ADDR="127.0.0.1").get("/metrics", HTTP_X_REAL_IP="203.0.113.9")
    assert proxied.status_code == 403
    assert proxied.json()["error"]["code"] == "forbidden"


def test_metrics_accepts_the_bearer_token_from_anywhere(settings):
    settings.METRICS_TOKEN = "s3cret-token"
    client = Client(REMOTE_ADDR="10.1.2.3")
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-token").status_code == 200


def test_unmatched_urls_share_one_label():
    client = Client(REMOTE_ADDR="127.0.0.1")
    client.get("/no/such/page/abc123")
    body = client.get("/metrics").content.decode()
    assert 'view="<unresolved>"' in body
    assert "abc123" not in body


def test_queue_gauges_carry_the_room_label():
    metrics.queue_room_observe(room="test-room", waiting=7, admitted=3, active=2)
    body = Client(REMOTE_ADDR="127.0.0.1").get("/metrics").content.decode()
    assert 'kassa_queue_waiting{room="test-room"} 7.0' in body
    assert 'kassa_queue_active{room="test-room"} 2.0' in body


_CHILD = textwrap.dedent(
    """
    import sys
    import django
    django.setup()
    from django.test import Client
    from ticketing import metrics
    client = Client(REMOTE_ADDR="127.0.0.1")
    if sys.argv[1] == "serve":
        client.get("/healthz")
        metrics.HOLDS.labels(outcome="created").inc(3)
    else:
        sys.stdout.write(client.get("/metrics").content.decode())
    """
)


def _child(mode: str, multiproc_dir: Path) -> str:
    env = {
        **os.environ,
        "PROMETHEUS_MULTIPROC_DIR": str(multiproc_dir),
        "DJANGO_SETTINGS_MODULE": "ticketing.settings",
    }
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, mode],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    return done.stdout


def test_multiprocess_mode_adds_up_what_other_processes_counted(tmp_path):
    """Two processes counted, then exited; a third one's /metrics sees both."""
    _child("serve", tmp_path)
    _child("serve", tmp_path)
    assert list(tmp_path.glob("*.db")), "the processes wrote no metric files"
    body = _child("scrape", tmp_path)
    assert 'kassa_holds_total{outcome="created"} 6.0' in body
    assert (
        'kassa_http_request_duration_seconds_count{method="GET",status="2xx",view="healthz"} 2.0'
        in body
    )


@pytest.mark.django_db(transaction=True)
def test_counted_counts_committed_results_and_refusals_by_code():
    from prometheus_client import Counter

    from ticketing.errors import Conflict
    from ticketing.metrics import counted

    counter = Counter("kassa_test_outcomes_total", "test", ["outcome"])

    @counted(counter, success="created")
    def make():
        return object()

    @counted(counter)
    def refuse():
        raise Conflict()

    @counted(counter)
    def word():
        return "duplicate"

    make()
    word()
    with pytest.raises(Conflict):
        refuse()
    assert counter.labels(outcome="created")._value.get() == 1
    assert counter.labels(outcome="duplicate")._value.get() == 1
    assert counter.labels(outcome="conflict")._value.get() == 1
