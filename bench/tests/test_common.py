from __future__ import annotations

import os
import random
import subprocess
from pathlib import Path

import pytest

from bench import buyers
from bench.common import ROOT, Recorder, latency_summary, nginx_render, percentile
from bench.onsale import chart, exit_status


def test_percentile_is_exact_nearest_rank():
    samples = sorted(float(n) for n in range(1, 101))
    assert percentile(samples, 50) == 50.0
    assert percentile(samples, 99) == 99.0
    assert percentile(samples, 100) == 100.0
    assert percentile([7.0], 99) == 7.0
    assert latency_summary([0.001, 0.002, 0.150]) == {
        "p50": 2.0,
        "p95": 150.0,
        "p99": 150.0,
        "max": 150.0,
    }


def test_recorder_reports_errors_by_status_across_endpoints():
    rec = Recorder()
    rec.add("holds.best", 201, 0.01)
    rec.add("holds.best", 409, 0.02)
    rec.add("orders.read", 0, 30.0)
    rec.add("gateway.pay", 303, 0.01)
    assert rec.errors() == {"0": 1, "409": 1}
    report = rec.report(elapsed=2.0)
    assert report["holds.best"]["requests"] == 2 and report["holds.best"]["rps"] == 1.0
    assert report["holds.best"]["statuses"] == {"201": 1, "409": 1}


def test_pick_adjacent_finds_side_by_side_available_seats():
    seats = [
        [1, "A", 1, 0, 0, 1, "sold"],
        [2, "A", 2, 0, 0, 1, "available"],
        [3, "A", 3, 0, 0, 1, "available"],
        [4, "A", 5, 0, 0, 1, "available"],
        [5, "B", 1, 0, 0, 1, "available"],
    ]
    assert buyers.pick_adjacent(seats, 2, random.Random(1)) == [2, 3]
    assert buyers.pick_adjacent(seats, 3, random.Random(1)) is None
    dicts = [{"id": 9, "row": "C", "number": 4, "status": "available"}]
    assert buyers.pick_adjacent(dicts, 1, random.Random(1)) == [9]


def test_polling_grows_with_the_wait_and_stays_bounded():
    rng = random.Random(1)
    near = buyers.poll_interval(rng, ahead=10, rate_per_minute=3000, until_draw=0)
    far = buyers.poll_interval(rng, ahead=20000, rate_per_minute=3000, until_draw=0)
    assert 0.8 <= near <= 1.2 and 48 <= far <= 72
    assert 1.6 <= buyers.poll_interval(rng, ahead=None, rate_per_minute=0, until_draw=0) <= 2.4
    # Before the draw: a look every ~60 s, and a wake-up at the draw itself.
    assert 48 <= buyers.poll_interval(rng, ahead=None, rate_per_minute=60, until_draw=600) <= 72
    assert 4 <= buyers.poll_interval(rng, ahead=None, rate_per_minute=60, until_draw=5) <= 6


def test_most_visitors_arrive_before_opening():
    times = buyers.arrivals(1000, rng=random.Random(1), start=0.0, open_at=60.0)
    assert len(times) == 1000
    assert sum(t < 60 for t in times) == 900
    assert max(times) <= 90 and min(times) >= 0


def test_nginx_template_renders_every_placeholder(tmp_path):
    text = nginx_render(
        (ROOT / "deploy" / "nginx.conf").read_text(),
        prefix=tmp_path,
        listen="127.0.0.1:18080",
        upstream="127.0.0.1:18000",
        static_root=tmp_path / "static",
    )
    assert "listen 127.0.0.1:18080" in text and "server 127.0.0.1:18000;" in text
    assert "proxy_cache_lock on;" in text
    with pytest.raises(ValueError):
        nginx_render("listen @NEW@;", prefix=tmp_path, listen="", upstream="", static_root=tmp_path)


@pytest.mark.skipif(not Path("/usr/sbin/nginx").exists(), reason="Debian nginx not installed")
def test_nginx_accepts_the_rendered_config(tmp_path):
    conf = tmp_path / "nginx.conf"
    conf.write_text(
        nginx_render(
            (ROOT / "deploy" / "nginx.conf").read_text(),
            prefix=tmp_path,
            listen="127.0.0.1:18080",
            upstream="127.0.0.1:18000",
            static_root=tmp_path,
        )
    )
    directives = "daemon off;" + (" user root;" if os.geteuid() == 0 else "")
    done = subprocess.run(
        ["/usr/sbin/nginx", "-t", "-p", str(tmp_path), "-c", str(conf), "-g", directives],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr


def test_exit_status_fails_on_any_audit_line_and_on_an_empty_run():
    clean = {"audit": {"oversold_seats": 0, "seats_in_two_valid_tickets": 0}, "tickets": 5}
    assert exit_status(clean) == 0
    assert exit_status({**clean, "audit": {"oversold_seats": 0, "x": 1}}) == 1
    assert exit_status({**clean, "tickets": 0}) == 2


def test_chart_is_written_as_png(tmp_path):
    result = {
        "capacity": 10,
        "visitors": 12,
        "opened_at_s": 1.0,
        "timeline": [
            {"t": 0.0, "waiting": 5, "admitted": 0, "sold": 0, "held": 0},
            {"t": 1.0, "waiting": 2, "admitted": 3, "sold": 2, "held": 1},
            {"t": 2.0, "state": None},
        ],
    }
    chart(result, tmp_path / "c.png")
    assert (tmp_path / "c.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_server_latency_reads_bucket_upper_bounds_from_metrics():
    from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

    from bench.common import latency_from_metrics
    from ticketing.metrics import LATENCY_BUCKETS

    registry = CollectorRegistry()
    latency = Histogram(
        "kassa_http_request_duration_seconds",
        "test",
        ["view", "method", "status"],
        buckets=LATENCY_BUCKETS,
        registry=registry,
    )
    for _ in range(97):
        latency.labels(view="holds", method="POST", status="2xx").observe(0.02)
    for _ in range(3):  # the slowest 3 %, two of them refusals
        latency.labels(view="holds", method="POST", status="4xx").observe(0.2)
    latency.labels(view="health", method="GET", status="2xx").observe(20)
    cpu = Counter("kassa_http_request_cpu_seconds", "test", ["view", "method"], registry=registry)
    cpu.labels(view="holds", method="POST").inc(0.75)
    out = latency_from_metrics(generate_latest(registry).decode())
    assert out["POST holds"] == {
        "requests": 100,
        "cpu_s": 0.75,
        "p50_ms_at_most": 25,
        "p95_ms_at_most": 25,
        "p99_ms_at_most": 250,
    }
    assert out["GET health"]["p50_ms_at_most"] is None  # past the last bucket
    assert out["GET health"]["cpu_s"] == 0.0
