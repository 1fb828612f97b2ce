"""Every error under /api/v1/ has the one body {"error": {"code", "message", "details"}}."""

from __future__ import annotations

import logging

import pytest
from django.test import Client

from api.tests.factories import assert_error

pytestmark = pytest.mark.urls("api.tests.urls")
THINGS = "/api/v1/test/things/"


def test_validation_error_maps_fields_to_messages(db, client_for):
    response = client_for().post(THINGS, {"name": "x" * 30, "fail": "nope"}, format="json")
    error = assert_error(response, 400, "validation_error")
    assert set(error["details"]) == {"name", "fail"}
    assert all(isinstance(m, str) for msgs in error["details"].values() for m in msgs)


def test_missing_field_is_a_validation_error(db, client_for):
    error = assert_error(client_for().post(THINGS, {}, format="json"), 400, "validation_error")
    assert list(error["details"]) == ["name"]


@pytest.mark.parametrize("body", [b"{", b'{"name": }', b"\xff\xfe", b"[1, 2"])
def test_malformed_json_is_400_parse_error(db, client_for, body):
    response = client_for().generic("POST", THINGS, body, content_type="application/json")
    error = assert_error(response, 400, "parse_error")
    assert error["details"]["reason"]


def test_json_array_body_is_a_validation_error_not_a_crash(db, client_for):
    response = client_for().post(THINGS, [1, 2], format="json")
    assert_error(response, 400, "validation_error")


def test_other_media_type_is_415(db, client_for):
    response = client_for().generic("POST", THINGS, "name=x", content_type="text/plain")
    assert_error(response, 415, "unsupported_media_type")
    response = client_for().post(THINGS, {"name": "x"})  # multipart form
    assert_error(response, 415, "unsupported_media_type")


def test_wrong_method_is_405_in_the_callers_language(db, client_for):
    en = assert_error(client_for().put("/api/v1/me/", HTTP_ACCEPT_LANGUAGE="en"), 405,
                      "method_not_allowed")  # fmt: skip
    ru = assert_error(client_for().put("/api/v1/me/", HTTP_ACCEPT_LANGUAGE="ru"), 405,
                      "method_not_allowed")  # fmt: skip
    assert "PUT" in en["message"] and en["message"] != ru["message"]


def test_unacceptable_accept_header_is_406(db, client_for):
    assert_error(client_for().get("/api/v1/me/", HTTP_ACCEPT="text/html"), 406, "not_acceptable")


@pytest.mark.parametrize(
    "url", ["/api/v1/nope/", "/api/v1/me/extra/", "/api/v2/", "/api/v1/test/things/1/"]
)
def test_unknown_url_under_api_is_a_json_404(db, client_for, url):
    assert_error(client_for().get(url), 404, "not_found")


def test_unknown_page_is_still_an_html_404(db):
    response = Client().get("/definitely-not-a-page/")
    assert response.status_code == 404
    assert not response["Content-Type"].startswith("application/json")


def test_application_error_carries_its_code_and_status(db, client_for):
    response = client_for().post(
        THINGS, {"name": "x", "fail": "conflict"}, format="json", HTTP_ACCEPT_LANGUAGE="en"
    )
    error = assert_error(response, 409, "conflict")
    assert error["message"] == "The state changed; reload and try again."
    ru = client_for().post(THINGS, {"name": "x", "fail": "conflict"}, format="json")
    assert assert_error(ru, 409, "conflict")["message"].startswith("Данные изменились")


def test_application_error_with_retry_after_sets_the_header(db, client_for, monkeypatch):
    from ticketing.errors import Busy

    def busy(self, request):
        raise Busy()

    monkeypatch.setattr("api.api.MeView.get", busy)
    response = client_for().get("/api/v1/me/")
    assert_error(response, 409, "busy")
    assert response["Retry-After"] == "1"


def test_unexpected_exception_is_a_logged_500_server_error(db, client_for, caplog):
    with caplog.at_level(logging.ERROR, logger="api.exceptions"):
        response = client_for().get("/api/v1/test/boom/")
    error = assert_error(response, 500, "server_error")
    assert "unexpected" not in error["message"]  # no internals leak to the caller
    record = next(r for r in caplog.records if r.name == "api.exceptions")
    assert record.exc_info and record.exc_info[0] is ZeroDivisionError


def test_crash_outside_drf_under_api_is_a_json_500(db):
    response = Client(raise_request_exception=False).get("/api/v1/test/plain-boom/")
    assert_error(response, 500, "server_error")


def test_crash_on_a_page_is_still_the_html_500(db):
    response = Client(raise_request_exception=False).get("/test-page-boom/")
    assert response.status_code == 500
    assert not response["Content-Type"].startswith("application/json")


def test_unknown_key_401_and_anonymous_401_have_the_shape(db, client_for):
    assert_error(client_for("nope.nope").get("/api/v1/me/"), 401, "authentication_failed")
    assert_error(client_for().get("/api/v1/test/checkin/"), 401, "not_authenticated")


def test_bad_idempotency_key_is_a_400(db, client_for):
    response = client_for().post(
        THINGS, {"name": "x"}, format="json", HTTP_IDEMPOTENCY_KEY="x" * 256
    )
    assert_error(response, 400, "idempotency_key_invalid")


@pytest.mark.parametrize(
    ("raised", "status", "code"),
    [("http404", 404, "not_found"), ("django_permission_denied", 403, "permission_denied")],
)
def test_django_exceptions_in_views_get_the_shape(
    db, client_for, monkeypatch, raised, status, code
):
    from django.core.exceptions import PermissionDenied
    from django.http import Http404

    exc = {"http404": Http404("no such thing"), "django_permission_denied": PermissionDenied()}

    def view(self, request):
        raise exc[raised]

    monkeypatch.setattr("api.api.MeView.get", view)
    assert_error(client_for().get("/api/v1/me/"), status, code)
