from __future__ import annotations

import threading

import pytest
from django.core.exceptions import ImproperlyConfigured

from api import throttling
from api.rates import parse_rate
from api.tests.factories import assert_error

ME = "/api/v1/me/"


def assert_throttled(response, period: int) -> int:
    error = assert_error(response, 429, "throttled")
    retry_after = int(response["Retry-After"])
    assert 1 <= retry_after <= period
    assert error["details"] == {"retry_after": retry_after}
    return retry_after


def test_partner_key_gets_429_with_retry_after_past_its_rate(settings, make_key, client_for):
    settings.API_THROTTLE_PARTNER = "3/h"
    (_one, raw_one), (_two, raw_two) = make_key(), make_key()
    caller = client_for(raw_one)
    assert [caller.get(ME).status_code for _ in range(3)] == [200, 200, 200]
    assert_throttled(caller.get(ME), 3600)
    # Each key has its own budget.
    assert client_for(raw_two).get(ME).status_code == 200


def test_anonymous_callers_are_counted_per_ip(settings, db, client_for):
    settings.API_THROTTLE_ANON = "2/h"
    caller = client_for()
    assert caller.get(ME, REMOTE_ADDR="10.0.0.1").status_code == 200
    assert caller.get(ME, REMOTE_ADDR="10.0.0.1").status_code == 200
    assert_throttled(caller.get(ME, REMOTE_ADDR="10.0.0.1"), 3600)
    assert client_for().get(ME, REMOTE_ADDR="10.0.0.2").status_code == 200


def test_a_rotating_x_forwarded_for_is_no_new_budget_without_a_trusted_proxy(
    settings, db, client_for
):
    settings.TRUSTED_PROXY_COUNT = 0
    settings.API_THROTTLE_ANON = "5/h"
    caller = client_for()
    statuses = [
        caller.get(ME, REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR=f"198.51.100.{n}").status_code
        for n in range(20)
    ]
    assert statuses == [200] * 5 + [429] * 15


def test_behind_one_proxy_the_address_it_appended_is_counted(settings, db, client_for):
    """nginx (REMOTE_ADDR 127.0.0.1) appends the peer it saw; what the client put
    in front is its own invention."""
    settings.TRUSTED_PROXY_COUNT = 1
    settings.API_THROTTLE_ANON = "2/h"
    caller = client_for()
    for forged in ("1.1.1.1", "2.2.2.2"):
        xff = f"{forged}, 203.0.113.7"
        response = caller.get(ME, REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR=xff)
        assert response.status_code == 200
    forged = "3.3.3.3, 203.0.113.7"
    assert_throttled(caller.get(ME, REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR=forged), 3600)
    # Another visitor behind the same proxy has a budget of their own.
    other = "3.3.3.3, 203.0.113.8"
    assert caller.get(ME, REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR=other).status_code == 200


def test_signed_in_buyers_are_counted_per_account_not_per_ip(
    settings, client_for, django_user_model
):
    settings.API_THROTTLE_ANON = "1/h"
    for name in ("aida", "bolat"):
        client = client_for()
        client.force_login(django_user_model.objects.create_user(name, password="x"))
        assert client.get(ME, REMOTE_ADDR="10.0.0.9").status_code == 200
    assert_throttled(client.get(ME, REMOTE_ADDR="10.0.0.9"), 3600)


def test_the_budget_comes_back_in_the_next_window(settings, api_key, client_for, monkeypatch):
    settings.API_THROTTLE_PARTNER = "1/min"
    now = [1_800_000_000.0]  # a window boundary
    monkeypatch.setattr(throttling.time, "time", lambda: now[0])
    caller = client_for(api_key[1])
    assert caller.get(ME).status_code == 200
    now[0] += 59.5
    assert assert_throttled(caller.get(ME), 60) == 1  # rounded up, never 0
    now[0] += 0.5
    assert caller.get(ME).status_code == 200


def test_counters_expire_in_redis(settings, api_key, client_for, redis_conn):
    settings.API_THROTTLE_PARTNER = "5/min"
    client_for(api_key[1]).get(ME)
    [key] = redis_conn.keys("kassa:throttle:partner:*")
    assert int(redis_conn.get(key)) == 1
    assert 0 < redis_conn.ttl(key) <= 61


def test_one_redis_round_trip_per_request(settings, api_key, client_for, monkeypatch):
    """Counted where this process sends them (the server's own counters add up
    every client's, other xdist workers' too)."""
    from redis.connection import AbstractConnection

    client_for(api_key[1]).get(ME)  # loads the script
    sent: list[str] = []
    send_command, pack_commands = AbstractConnection.send_command, AbstractConnection.pack_commands

    def one(self, *args, **kwargs):
        sent.append(str(args[0]).upper())
        return send_command(self, *args, **kwargs)

    def many(self, commands):
        sent.append("PIPELINE:" + ",".join(str(c[0]).upper() for c in commands))
        return pack_commands(self, commands)

    monkeypatch.setattr(AbstractConnection, "send_command", one)
    monkeypatch.setattr(AbstractConnection, "pack_commands", many)
    client_for(api_key[1]).get(ME)
    # One EVALSHA (the INCR runs inside it, on the server); nothing else.
    assert sent == ["EVALSHA"]


def test_throttle_lets_requests_through_when_redis_is_down(settings, api_key, client_for,
                                                           monkeypatch):  # fmt: skip
    from redis.exceptions import ConnectionError as RedisConnectionError

    def down():
        def call(**kwargs):
            raise RedisConnectionError("down")

        return call

    settings.API_THROTTLE_PARTNER = "1/h"
    monkeypatch.setattr(throttling, "_incr_script", down)
    caller = client_for(api_key[1])
    assert [caller.get(ME).status_code for _ in range(3)] == [200, 200, 200]


RATES = [("1200/min", (1200, 60)), ("300/m", (300, 60)), ("10/5s", (10, 5)),
         ("5/hour", (5, 3600)), ("1/d", (1, 86400))]  # fmt: skip


@pytest.mark.parametrize(("rate", "parsed"), RATES)
def test_rates_parse(rate, parsed):
    assert parse_rate(rate) == parsed


@pytest.mark.parametrize("rate", ["", "1200", "x/min", "0/min", "10/fortnight", "-1/s"])
def test_bad_rates_stop_start_up(rate):
    with pytest.raises(ImproperlyConfigured):
        parse_rate(rate, name="API_THROTTLE_PARTNER")


def test_concurrent_requests_never_exceed_the_rate(settings, transactional_db):
    """Twenty threads at once against a budget of five: INCR is atomic, so exactly five pass."""
    from django.db import connection
    from rest_framework.test import APIClient

    from api.models import Partner
    from api.services import api_key_create

    settings.API_THROTTLE_PARTNER = "5/h"
    raw = api_key_create(partner=Partner.objects.create(slug="p", name="P"), scopes=[])[1]
    barrier = threading.Barrier(20)
    statuses: list[int] = []

    def racer():
        try:
            client = APIClient()
            client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
            barrier.wait(5)
            statuses.append(client.get(ME).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=racer) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert sorted(statuses) == [200] * 5 + [429] * 15
