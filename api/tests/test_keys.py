from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from api.authentication import api_key_cache_forget
from api.exceptions import InvalidScopes
from api.models import ApiKey
from api.services import api_key_create, api_key_revoke
from api.tests.factories import assert_error
from ticketing.models import AuditEntry

ME = "/api/v1/me/"


def test_key_create_stores_only_a_hash_and_audits(partner):
    key, raw = api_key_create(partner=partner, scopes=["sell", "catalog"], name="ios")
    key.refresh_from_db()
    assert raw.startswith(key.prefix + ".")
    assert key.hashed_key == ApiKey.hash(raw) and raw not in key.hashed_key
    assert key.scopes == ["catalog", "sell"]
    entry = AuditEntry.objects.get(action="api_key.created")
    assert entry.object_id == str(key.pk)
    assert entry.data == {"partner": "halyk", "prefix": key.prefix,
                          "scopes": ["catalog", "sell"], "name": "ios"}  # fmt: skip
    assert raw not in str(entry.data)


def test_key_create_refuses_unknown_scope(partner):
    with pytest.raises(InvalidScopes):
        api_key_create(partner=partner, scopes=["sell", "admin"])
    assert not ApiKey.objects.exists()
    assert not AuditEntry.objects.exists()


def test_me_with_a_key_answers_channel_partner_and_scopes(api_key, client_for):
    key, raw = api_key
    response = client_for(raw).get(ME)
    assert response.status_code == 200
    assert response.json() == {"channel": "partner:halyk", "partner": "halyk",
                               "key_prefix": key.prefix, "scopes": ["catalog", "sell"]}  # fmt: skip


def test_me_without_a_key_is_the_web_channel(db, client_for):
    response = client_for().get(ME)
    assert response.json() == {"channel": "web", "partner": None, "key_prefix": None, "scopes": []}


def test_using_a_key_records_last_used_at_most_once_a_minute(api_key, client_for):
    key, raw = api_key
    assert key.last_used_at is None
    client_for(raw).get(ME)
    key.refresh_from_db()
    first = key.last_used_at
    assert first is not None and timezone.now() - first < timedelta(seconds=5)
    client_for(raw).get(ME)
    key.refresh_from_db()
    assert key.last_used_at == first
    ApiKey.objects.filter(pk=key.pk).update(last_used_at=first - timedelta(minutes=2))
    api_key_cache_forget()  # a raw update sends no signal (as in another process)
    client_for(raw).get(ME)
    key.refresh_from_db()
    assert key.last_used_at > first


def test_revoked_key_gets_401_and_revocation_is_audited_once(api_key, client_for):
    key, raw = api_key
    assert client_for(raw).get(ME).status_code == 200
    assert api_key_revoke(key=key) is True
    assert api_key_revoke(key=key) is False
    assert AuditEntry.objects.filter(action="api_key.revoked", object_id=str(key.pk)).count() == 1
    response = client_for(raw).get(ME)
    assert_error(response, 401, "authentication_failed")
    assert response["WWW-Authenticate"] == "Api-Key"


def test_key_of_an_inactive_partner_gets_401(api_key, partner, client_for):
    partner.is_active = False
    partner.save(update_fields=["is_active"])
    assert_error(client_for(api_key[1]).get(ME), 401, "authentication_failed")


@pytest.mark.parametrize(
    "raw",
    ["deadbeef.not-the-secret", "nonsense", "", "ünïcode.ключ"],
)
def test_unknown_key_gets_401(api_key, client_for, raw):
    key, _real = api_key
    if raw == "deadbeef.not-the-secret":
        raw = key.prefix + ".not-the-secret"  # right prefix, wrong secret
    assert_error(client_for(raw).get(ME), 401, "authentication_failed")


@pytest.mark.urls("api.tests.urls")
def test_key_without_the_scope_gets_403(make_key, client_for):
    _key, raw = make_key(["catalog"])
    error = assert_error(client_for(raw).get("/api/v1/test/sell/"), 403, "insufficient_scope")
    assert "sell" in error["message"]
    _key, raw = make_key(["sell"])
    assert client_for(raw).get("/api/v1/test/sell/").status_code == 200


@pytest.mark.urls("api.tests.urls")
def test_checkin_needs_a_key_with_the_scope_or_staff(make_key, client_for, django_user_model):
    assert_error(client_for().get("/api/v1/test/checkin/"), 401, "not_authenticated")
    assert_error(client_for(make_key(["sell"])[1]).get("/api/v1/test/checkin/"), 403,
                 "insufficient_scope")  # fmt: skip
    assert client_for(make_key(["checkin"])[1]).get("/api/v1/test/checkin/").status_code == 200
    client = client_for()
    client.force_login(django_user_model.objects.create_user("buyer", password="x"))
    assert_error(client.get("/api/v1/test/checkin/"), 403, "permission_denied")
    client.force_login(django_user_model.objects.create_user("door", password="x", is_staff=True))
    assert client.get("/api/v1/test/checkin/").status_code == 200


# --- admin ------------------------------------------------------------------


@pytest.fixture
def staff_client(client, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("boss", "b@x.kz", "pw"))
    return client


def test_admin_add_shows_the_secret_once_and_stores_its_hash(staff_client, partner, client_for):
    response = staff_client.post(
        "/admin/api/apikey/add/",
        {"partner": partner.pk, "name": "android", "scopes": ["catalog", "checkin"]},
    )
    assert response.status_code == 200, response.content
    html = response.content.decode()
    raw = re.search(r'id="api-key-secret"[^>]*>([^<]+)<', html).group(1)
    key = ApiKey.objects.get()
    assert key.hashed_key == ApiKey.hash(raw) and key.scopes == ["catalog", "checkin"]
    assert "no-store" in response["Cache-Control"]
    entry = AuditEntry.objects.get(action="api_key.created")
    assert entry.actor_user.username == "boss"
    # It works, and it is never shown again.
    assert client_for(raw).get(ME).json()["scopes"] == ["catalog", "checkin"]
    for url in ["/admin/api/apikey/", f"/admin/api/apikey/{key.pk}/change/",
                f"/admin/api/partner/{partner.pk}/change/"]:  # fmt: skip
        page = staff_client.get(url)
        assert page.status_code == 200
        assert raw.split(".", 1)[1] not in page.content.decode()
    assert key.prefix in staff_client.get("/admin/api/apikey/").content.decode()


def test_admin_add_without_scopes_is_refused(staff_client, partner):
    response = staff_client.post(
        "/admin/api/apikey/add/", {"partner": partner.pk, "name": "x", "scopes": []}
    )
    assert response.status_code == 200
    assert "api-key-secret" not in response.content.decode()
    assert not ApiKey.objects.exists()


def test_admin_revoke_action_revokes_and_audits(staff_client, make_key, client_for):
    (one, raw_one), (two, _raw_two) = make_key(), make_key()
    response = staff_client.post(
        "/admin/api/apikey/",
        {"action": "revoke", "_selected_action": [one.pk, two.pk]},
        follow=True,
    )
    assert response.status_code == 200
    assert "2" in response.content.decode()
    one.refresh_from_db()
    two.refresh_from_db()
    assert one.revoked_at is not None and two.revoked_at is not None
    assert AuditEntry.objects.filter(action="api_key.revoked").count() == 2
    assert_error(client_for(raw_one).get(ME), 401, "authentication_failed")


def test_admin_change_edits_only_the_name(staff_client, api_key):
    key, _raw = api_key
    response = staff_client.post(
        f"/admin/api/apikey/{key.pk}/change/", {"name": "renamed", "scopes": '["checkin"]'}
    )
    assert response.status_code == 302, response.content
    key.refresh_from_db()
    assert key.name == "renamed" and key.scopes == ["catalog", "sell"]


def test_admin_shows_idempotency_records_read_only(staff_client):
    from api.models import IdempotencyRecord

    record = IdempotencyRecord.objects.create(
        key="retry-7", fingerprint="f", request_hash="h", completed=True,
        response_status=201, response_body=b'{"id": 7}',
    )  # fmt: skip
    assert "retry-7" in staff_client.get("/admin/api/idempotencyrecord/").content.decode()
    page = staff_client.get(f"/admin/api/idempotencyrecord/{record.pk}/change/")
    assert page.status_code == 200 and "{&quot;id&quot;: 7}" in page.content.decode()
    assert staff_client.get("/admin/api/idempotencyrecord/add/").status_code == 403


def test_a_key_is_read_once_and_dropped_when_revoked(api_key, client_for):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    key, raw = api_key
    assert client_for(raw).get(ME).status_code == 200
    with CaptureQueriesContext(connection) as ctx:
        assert client_for(raw).get(ME).status_code == 200
    assert not [q for q in ctx.captured_queries if "api_apikey" in q["sql"]]
    api_key_revoke(key=key)  # the cached key is dropped at once in this process
    assert_error(client_for(raw).get(ME), 401, "authentication_failed")
