from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.utils import timezone

from accounts import exceptions, services
from accounts.models import OneTimeCode, Profile
from accounts.tests.factories import PHONE

User = get_user_model()
pytestmark = pytest.mark.django_db


def _no_accounts():
    return User.objects.count() == 0 and Profile.objects.count() == 0


@pytest.mark.parametrize(
    "raw", ["+7 701 234 56 78", "8 701 234 56 78", "87012345678", "7012345678", "+7(701)234-56-78"]
)
def test_phone_numbers_normalise_to_e164_with_kazakhstan_default(raw):
    assert services.identity_parse(raw) == services.Identity("phone", PHONE)


def test_foreign_mobile_numbers_are_accepted():
    assert services.identity_parse("+7 916 123 45 67").value == "+79161234567"  # Russia


def test_numbers_outside_the_served_regions_are_refused(settings):
    with pytest.raises(exceptions.PhoneRegionNotServed) as info:
        services.identity_parse("+44 7400 123456")
    assert "Sign in with your e-mail instead" in str(info.value.message)
    settings.PHONE_ALLOWED_REGIONS = []
    assert services.identity_parse("+44 7400 123456").value == "+447400123456"


def test_redis_outage_refuses_to_send_unlimited_codes(monkeypatch):
    from redis.exceptions import ConnectionError as RedisConnectionError

    class DownRedis:
        def pipeline(self, **kwargs):
            raise RedisConnectionError("down")

    monkeypatch.setattr(services, "get_redis_connection", lambda alias: DownRedis())
    with pytest.raises(exceptions.SigninUnavailable) as info:
        services.code_send(identity_raw=PHONE, ip="10.0.0.1")
    assert info.value.status == 503 and info.value.retry_after == 60
    assert OneTimeCode.objects.count() == 0


def test_email_is_normalised_to_lower_case():
    assert services.identity_parse("  Aigerim@Example.KZ ") == services.Identity(
        "email", "aigerim@example.kz"
    )


@pytest.mark.parametrize(
    "raw", ["12345", "+7 000 000 00 00", "phone", "+7 727 250 00 00x", "+7 727 250 00 00"]
)
def test_invalid_phone_is_rejected_with_a_clear_message(raw):
    with pytest.raises(exceptions.InvalidPhone) as info:
        services.identity_parse(raw)
    assert "phone number is not valid" in str(info.value.message)


@pytest.mark.parametrize("raw", ["a@", "@example.com", "a b@example.com"])
def test_invalid_email_is_rejected(raw):
    with pytest.raises(exceptions.InvalidEmail):
        services.identity_parse(raw)


def test_empty_identity_is_rejected():
    with pytest.raises(exceptions.InvalidIdentity):
        services.identity_parse("   ")


def test_code_is_stored_only_as_an_hmac(send, sms_code):
    send()
    code = sms_code()
    row = OneTimeCode.objects.get()
    assert row.code_hash != code
    assert len(row.code_hash) == 64
    values = [str(v) for v in OneTimeCode.objects.values().get().values()]
    assert not any(code in value for value in values)
    assert row.expires_at - row.created_at == timedelta(minutes=5)


def test_right_code_creates_the_account_once_and_then_finds_it(send, sms_code, settings):
    settings.OTP_RESEND_SECONDS = 0
    send()
    user = services.code_verify(identity_raw=PHONE, code=sms_code())
    assert user.profile.phone == PHONE
    assert not user.has_usable_password()
    send("8 701 234 56 78")
    again = services.code_verify(identity_raw="8 701 234 56 78", code=sms_code())
    assert again.pk == user.pk
    assert Profile.objects.count() == 1
    assert OneTimeCode.objects.filter(used_at__isnull=False).count() == 2


def test_a_code_works_only_once(send, sms_code):
    send()
    code = sms_code()
    services.code_verify(identity_raw=PHONE, code=code)
    with pytest.raises(exceptions.CodeMissing):
        services.code_verify(identity_raw=PHONE, code=code)


def test_wrong_code_counts_an_attempt_and_changes_no_account(send, sms_code):
    send()
    wrong = f"{(int(sms_code()) + 1) % 10**6:06d}"
    with pytest.raises(exceptions.CodeInvalid) as info:
        services.code_verify(identity_raw=PHONE, code=wrong)
    assert info.value.details == {"attempts_left": 4}
    assert "4 attempts left" in str(info.value.message)
    assert OneTimeCode.objects.get().attempts == 1
    assert _no_accounts()


def test_five_wrong_attempts_kill_the_code(send, sms_code):
    send()
    code = sms_code()
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    for _ in range(4):
        with pytest.raises(exceptions.CodeInvalid):
            services.code_verify(identity_raw=PHONE, code=wrong)
    with pytest.raises(exceptions.CodeAttemptsExceeded):
        services.code_verify(identity_raw=PHONE, code=wrong)
    with pytest.raises(exceptions.CodeAttemptsExceeded) as info:
        services.code_verify(identity_raw=PHONE, code=code)  # even the right one
    assert "Request a new one" in str(info.value.message)
    assert OneTimeCode.objects.get().attempts == 5
    assert _no_accounts()


def test_expired_code_is_refused_with_a_clear_message(send, sms_code, monkeypatch):
    send()
    code = sms_code()
    later = timezone.now() + timedelta(minutes=5, seconds=1)
    monkeypatch.setattr(timezone, "now", lambda: later)
    with pytest.raises(exceptions.CodeExpired) as info:
        services.code_verify(identity_raw=PHONE, code=code)
    assert "expired" in str(info.value.message)
    assert _no_accounts()
    assert OneTimeCode.objects.get().used_at is None


def test_a_new_code_replaces_the_earlier_one(send, sms_code, settings):
    settings.OTP_RESEND_SECONDS = 0
    send()
    first = sms_code()
    send()
    second = sms_code()
    if first != second:
        with pytest.raises(exceptions.CodeInvalid):
            services.code_verify(identity_raw=PHONE, code=first)
    assert OneTimeCode.objects.filter(expires_at__gt=timezone.now()).count() == 1
    assert services.code_verify(identity_raw=PHONE, code=second).profile.phone == PHONE


def test_no_code_requested_gives_a_clear_message():
    with pytest.raises(exceptions.CodeMissing) as info:
        services.code_verify(identity_raw=PHONE, code="123456")
    assert "Request a new one" in str(info.value.message)


def test_second_code_within_a_minute_is_refused_with_retry_after(send):
    send()
    with pytest.raises(exceptions.TooManyCodes) as info:
        send()
    assert 55 <= info.value.retry_after <= 60
    assert info.value.status == 429
    assert "request a new one in" in str(info.value.message)
    assert "seconds" in str(info.value.message)
    assert OneTimeCode.objects.count() == 1


def test_sixth_code_within_an_hour_is_refused(send, settings):
    settings.OTP_RESEND_SECONDS = 0
    for _ in range(5):
        send()
    with pytest.raises(exceptions.TooManyCodes) as info:
        send()
    assert info.value.retry_after > 3000
    assert "this number or e-mail" in str(info.value.message)
    assert "minutes" in str(info.value.message)
    assert OneTimeCode.objects.count() == 5


def test_codes_per_ip_are_limited_across_identities(send, settings):
    settings.OTP_PER_IP_HOUR = 3
    for n in range(3):
        send(f"+7701234560{n}", ip="10.9.9.9")
    with pytest.raises(exceptions.TooManyCodes) as info:
        send("+77012345609", ip="10.9.9.9")
    assert "from your network" in str(info.value.message)
    assert info.value.details == {"limit": "ip"}
    assert not OneTimeCode.objects.filter(identity="+77012345609").exists()
    send("+77012345609", ip="10.9.9.10")  # another address is not affected


def test_rate_limit_counters_carry_an_expiry(send, redis_conn):
    send(ip="10.1.1.1")
    keys = redis_conn.keys("kassa:otp:*")
    assert len(keys) == 3
    assert all(0 < redis_conn.ttl(key) <= 3600 for key in keys)


def test_email_code_is_sent_as_text_and_html(send, mail_code):
    from django.core import mail

    send("buyer@example.com")
    message = mail.outbox[-1]
    code = mail_code("buyer@example.com")
    assert code in message.subject
    assert code in message.alternatives[0][0]
    assert message.alternatives[0][1] == "text/html"


def test_sessions_revoke_all_rotates_the_epoch(django_user_model):
    user = django_user_model.objects.create(username="x")
    before = Profile.objects.create(user=user).session_epoch
    services.sessions_revoke_all(user=user)
    assert Profile.objects.get(user=user).session_epoch != before


@pytest.mark.django_db(transaction=True)
def test_concurrent_uses_of_one_code_sign_in_exactly_once(sms_code):
    services.code_send(identity_raw=PHONE, ip=None)  # real commit: delivery runs
    code = sms_code()
    results, barrier = [], threading.Barrier(8)

    def racer():
        try:
            barrier.wait()
            results.append(services.code_verify(identity_raw=PHONE, code=code).pk)
        except exceptions.KassaError as exc:
            results.append(type(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=racer) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    winners = [r for r in results if isinstance(r, int)]
    assert len(winners) == 1
    assert results.count(exceptions.CodeMissing) == 7
    assert User.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_wrong_guesses_never_exceed_the_attempt_limit(sms_code):
    services.code_send(identity_raw=PHONE, ip=None)
    wrong = f"{(int(sms_code()) + 1) % 10**6:06d}"
    barrier = threading.Barrier(12)

    def racer():
        try:
            barrier.wait()
            services.code_verify(identity_raw=PHONE, code=wrong)
        except exceptions.KassaError:
            pass
        finally:
            connection.close()

    threads = [threading.Thread(target=racer) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert OneTimeCode.objects.get().attempts == 5
    assert User.objects.count() == 0


def test_codes_purge_drops_only_old_codes(send, settings):
    settings.OTP_RESEND_SECONDS = 0
    send()
    send()
    OneTimeCode.objects.filter(pk=OneTimeCode.objects.order_by("id").first().pk).update(
        created_at=timezone.now() - timedelta(days=2)
    )
    assert services.codes_purge() == 1
    assert OneTimeCode.objects.count() == 1


def test_first_sign_in_and_sign_out_everywhere_are_audited(send, sms_code):
    from ticketing.models import AuditEntry

    send()
    user = services.code_verify(identity_raw=PHONE, code=sms_code())
    services.sessions_revoke_all(user=user)
    entries = AuditEntry.objects.filter(object_id=str(user.pk)).order_by("id")
    assert [e.action for e in entries] == ["account.created", "account.sessions_revoked"]
    assert entries[0].data == {"via": "phone"}


def test_a_blocked_account_cannot_sign_in(send, sms_code, settings):
    settings.OTP_RESEND_SECONDS = 0
    send()
    user = services.code_verify(identity_raw=PHONE, code=sms_code())
    User.objects.filter(pk=user.pk).update(is_active=False)
    send()
    with pytest.raises(exceptions.AccountDisabled):
        services.code_verify(identity_raw=PHONE, code=sms_code())
    assert User.objects.count() == 1
