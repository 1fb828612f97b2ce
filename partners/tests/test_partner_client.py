"""examples/partner_client.py speaks kassa's Kassa-Signature scheme both ways,
and `make run`'s demo partner app has what it needs (the client itself runs
against the booted stack in `make partner-example`, CI)."""

from __future__ import annotations

import importlib.util
import json
import time
from pathlib import Path

import pytest
from rest_framework.test import APIClient

from api.models import Partner
from events.demo import DEMO_APP_FILE, DEMO_APP_SLUG, demo_app_partner
from ticketing.signing import stamped_header, stamped_valid

CLIENT = Path(__file__).resolve().parents[2] / "examples" / "partner_client.py"


@pytest.fixture(scope="module")
def client_module():
    spec = importlib.util.spec_from_file_location("partner_client", CLIENT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_clients_signatures_verify_at_kassa_and_kassas_at_the_client(client_module):
    body = b'{"amount":"20000.00","currency":"KZT","reference":"tx-1"}'
    assert stamped_valid(header=client_module.kassa_signature(body, "s3"), body=body, secret="s3")
    assert not stamped_valid(
        header=client_module.kassa_signature(body, "s3"), body=body + b" ", secret="s3"
    )
    # Two v1= while a secret rotates: either verifies.
    header = stamped_header(secrets=["new", "old"], body=body)
    assert client_module.kassa_signature_ok(header, body, "old")
    assert client_module.kassa_signature_ok(header, body, "new")
    assert not client_module.kassa_signature_ok(header, body, "other")
    stale = client_module.kassa_signature(body, "new", now=int(time.time()) - 301)
    assert not client_module.kassa_signature_ok(stale, body, "new")


@pytest.mark.django_db
def test_the_demo_partner_app_gets_a_working_key_and_on_account_once(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    path = demo_app_partner()
    creds = json.loads(path.read_text())
    assert path == tmp_path / DEMO_APP_FILE and oct(path.stat().st_mode)[-3:] == "600"
    partner = Partner.objects.get(slug=DEMO_APP_SLUG)
    assert partner.on_account and partner.on_account_secret == creds["on_account_secret"]
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Api-Key {creds['api_key']}")
    assert api.get("/api/v1/me/").status_code == 200

    assert demo_app_partner() is None  # the file is there: nothing changes
    path.unlink()
    again = json.loads(demo_app_partner().read_text())
    assert again["api_key"] != creds["api_key"]
    api.credentials(HTTP_AUTHORIZATION=f"Api-Key {creds['api_key']}")
    assert api.get("/api/v1/me/").status_code == 401  # the lost key is revoked
