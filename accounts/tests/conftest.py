from __future__ import annotations

import re

import pytest
from django.core import mail
from django.utils import translation

from accounts.sms import FileSmsBackend
from accounts.tests.factories import PHONE


@pytest.fixture(autouse=True)
def _accounts_settings(settings, tmp_path):
    settings.SMS_BACKEND = "accounts.sms.FileSmsBackend"
    settings.SMS_FILE_PATH = str(tmp_path / "sms")
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.OTP_TTL_SECONDS = 300
    settings.OTP_MAX_ATTEMPTS = 5
    settings.OTP_RESEND_SECONDS = 60
    settings.OTP_PER_IDENTITY_HOUR = 5
    settings.OTP_PER_IP_HOUR = 20
    settings.LANGUAGE_CODE = "en"
    # Messages are asserted in English; ru/kk are checked in test_translations.
    with translation.override("en"):
        yield


def _six_digits(text: str) -> str:
    return re.search(r"\b(\d{6})\b", text).group(1)


@pytest.fixture
def sms_code(settings):
    """The code in the last SMS the file backend wrote to `phone`."""

    def read(phone: str = PHONE) -> str:
        sent = FileSmsBackend(settings.SMS_FILE_PATH).messages(phone)
        assert sent, f"no SMS was sent to {phone}"
        return _six_digits(sent[-1]["text"])

    return read


@pytest.fixture
def mail_code():
    """The code in the last e-mail to `address`."""

    def read(address: str) -> str:
        sent = [m for m in mail.outbox if address in m.to]
        assert sent, f"no e-mail was sent to {address}"
        return _six_digits(sent[-1].body)

    return read


@pytest.fixture
def send(django_capture_on_commit_callbacks):
    """code_send with its after-commit delivery run (tests run inside a transaction)."""
    from accounts import services

    def call(identity_raw: str = PHONE, ip: str | None = "10.0.0.1"):
        with django_capture_on_commit_callbacks(execute=True):
            return services.code_send(identity_raw=identity_raw, ip=ip)

    return call


@pytest.fixture
def post(django_capture_on_commit_callbacks):
    """client.post with after-commit callbacks (the SMS/e-mail) executed."""

    def call(client, url, data, **extra):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(url, data, **extra)

    return call
