from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from api.models import Partner, Scope
from api.services import api_key_create


@pytest.fixture
def partner(db):
    return Partner.objects.create(slug="halyk", name="Halyk Bank")


@pytest.fixture
def make_key(partner):
    def make(scopes=(Scope.CATALOG, Scope.SELL), *, of=None):
        return api_key_create(partner=of or partner, scopes=list(scopes), name="app")

    return make


@pytest.fixture
def api_key(make_key):
    """(ApiKey, raw secret) with the catalog and sell scopes."""
    return make_key()


@pytest.fixture
def client_for():
    """An APIClient sending `Authorization: Api-Key <raw>` (or nothing for None)."""

    def make(raw: str | None = None) -> APIClient:
        client = APIClient()
        if raw is not None:
            client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
        return client

    return make


def assert_error(response, status: int, code: str) -> dict:
    """The one error body: {"error": {"code", "message", "details"}} with JSON content type."""
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    assert isinstance(body["error"]["details"], dict)
    return body["error"]
