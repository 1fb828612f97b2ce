"""SITE_URL follows PORT when not set, in settings and in `make run`'s banner."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from ticketing import env, launcher

ROOT = Path(__file__).resolve().parents[2]


def test_site_url_defaults_to_the_port_the_site_runs_on(monkeypatch):
    monkeypatch.delenv("SITE_URL", raising=False)
    monkeypatch.setenv("PORT", "8201")
    assert env.env_site_url() == "http://127.0.0.1:8201"
    monkeypatch.delenv("PORT")
    assert env.env_site_url() == "http://127.0.0.1:8000"


def test_a_set_site_url_wins_over_the_port(monkeypatch):
    monkeypatch.setenv("PORT", "8201")
    monkeypatch.setenv("SITE_URL", "https://kassa.example.kz/")
    assert env.env_site_url() == "https://kassa.example.kz"


def test_a_bad_port_stops_start_up_naming_the_variable(monkeypatch):
    monkeypatch.delenv("SITE_URL", raising=False)
    monkeypatch.setenv("PORT", "eighty")
    with pytest.raises(ImproperlyConfigured, match="PORT='eighty' is not a whole number"):
        env.env_site_url()


def test_settings_site_url_follows_port_when_not_set():
    """The real settings module, loaded the way a web or worker process loads it."""
    environ = {k: v for k, v in os.environ.items() if k != "SITE_URL"}
    environ.update(PORT="8201", DJANGO_SETTINGS_MODULE="ticketing.settings")
    environ.setdefault("SECRET_KEY", "test")
    code = "from django.conf import settings; print(settings.SITE_URL)"
    out = subprocess.run(
        [sys.executable, "-c", code], env=environ, cwd=ROOT, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "http://127.0.0.1:8201"


def test_the_banner_prints_the_urls_of_the_port_it_runs_on(monkeypatch):
    monkeypatch.delenv("SITE_URL", raising=False)
    monkeypatch.setenv("PORT", "8201")
    lines = launcher.banner_lines(env.env_site_url(), "staff / secret")
    assert lines[0] == "site      http://127.0.0.1:8201/"
    assert lines[1] == "admin     http://127.0.0.1:8201/admin/   (staff / secret)"
    assert lines[2] == "API docs  http://127.0.0.1:8201/api/v1/docs/"
    assert not any(":8000" in line for line in lines)
