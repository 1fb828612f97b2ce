"""Helpers for api's tests (fixtures are in conftest.py)."""

from __future__ import annotations


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
