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
