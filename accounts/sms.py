"""Sending SMS: one small interface, chosen by the SMS_BACKEND setting.

Built in:
- `accounts.sms.ConsoleSmsBackend` logs each message (development default);
- `accounts.sms.FileSmsBackend` appends each message as one JSON line to
  `SMS_FILE_PATH/<phone>.jsonl` (default `.data/sms/`), for tests and demos.

Plugging in a real gateway: subclass `SmsBackend`, implement `send()` (raise
`SmsError` on failure; never log the text in production: it holds a live
code), and set `SMS_BACKEND=yourpackage.module.YourBackend`. Gateway
credentials belong in your own settings read through ticketing/env.py.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from django.conf import settings
from django.utils import timezone
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)


class SmsError(Exception):
    """The gateway did not accept the message."""


class SmsBackend:
    def send(self, *, phone: str, text: str) -> None:
        """Deliver `text` to `phone` (E.164, e.g. +77012345678)."""
        raise NotImplementedError


class ConsoleSmsBackend(SmsBackend):
    def send(self, *, phone: str, text: str) -> None:
        logger.info("sms to %s: %s", phone, text)


class FileSmsBackend(SmsBackend):
    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path or settings.SMS_FILE_PATH)

    def send(self, *, phone: str, text: str) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        line = json.dumps({"to": phone, "text": text, "at": timezone.now().isoformat()})
        with (self.path / f"{phone.lstrip('+')}.jsonl").open("a", encoding="utf-8") as fh:
            fh.write(line + "\n")

    def messages(self, phone: str) -> list[dict]:
        """What was sent to `phone`, oldest first (for tests and demos)."""
        target = self.path / f"{phone.lstrip('+')}.jsonl"
        if not target.exists():
            return []
        return [json.loads(line) for line in target.read_text(encoding="utf-8").splitlines()]


def get_sms_backend() -> SmsBackend:
    return import_string(settings.SMS_BACKEND)()


def sms_send(*, phone: str, text: str) -> None:
    get_sms_backend().send(phone=phone, text=text)
