"""Staff sign-in (/admin/login/) locks a username at an address after ten wrong
passwords (django-axes, configured in settings)."""

from __future__ import annotations

import pytest

LOGIN = "/admin/login/?next=/admin/"


@pytest.fixture
def staff(django_user_model):
    return django_user_model.objects.create_superuser("boss", "boss@kassa.local", "right-one")


def _try(client, password, **extra):
    return client.post(LOGIN, {"username": "boss", "password": password}, **extra)


def test_the_eleventh_attempt_is_refused_even_with_the_right_password(client, staff, settings):
    settings.TRUSTED_PROXY_COUNT = 0
    statuses = [
        # A new X-Forwarded-For each time is no new address (client_ip's rule).
        _try(client, "wrong", REMOTE_ADDR="10.0.0.5", HTTP_X_FORWARDED_FOR=f"1.1.1.{n}").status_code
        for n in range(10)
    ]
    assert statuses == [200] * 9 + [429]  # the form with its error; the tenth locks
    response = _try(client, "right-one", REMOTE_ADDR="10.0.0.5", HTTP_ACCEPT_LANGUAGE="kk")
    assert response.status_code == 429
    assert response["Retry-After"] == "900"
    assert response.content.decode() == (
        "Сәтсіз кіру әрекеттері тым көп. 15 мин. кейін қайталап көріңіз."
    )
    assert "_auth_user_id" not in client.session
    assert client.get("/admin/", REMOTE_ADDR="10.0.0.5").status_code == 302  # not signed in


def test_the_lockout_is_per_username_and_address(client, staff):
    for _ in range(10):
        _try(client, "wrong", REMOTE_ADDR="10.0.0.5")
    # The same staff member from the office is not locked out by a guesser.
    response = _try(client, "right-one", REMOTE_ADDR="10.0.0.6")
    assert response.status_code == 302
    assert client.get("/admin/", REMOTE_ADDR="10.0.0.6").status_code == 200


def test_behind_a_proxy_the_lockout_follows_the_address_the_proxy_saw(client, staff, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    for n in range(10):
        _try(
            client, "wrong", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR=f"9.9.9.{n}, 203.0.113.5"
        )
    locked = _try(client, "right-one", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.5")
    assert locked.status_code == 429
    other = _try(client, "right-one", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.6")
    assert other.status_code == 302
