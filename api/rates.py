"""Throttle rates as written in settings ("1200/min"); imports nothing that needs
configured settings, so settings.py can validate them at start-up."""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured

PERIODS = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60,
           "h": 3600, "hour": 3600, "d": 86400, "day": 86400}  # fmt: skip


def parse_rate(rate: str, *, name: str = "rate") -> tuple[int, int]:
    """ "1200/min" → (1200 requests, 60 seconds); "10/5s" → (10, 5). Strict."""
    try:
        count_text, period_text = rate.strip().split("/", 1)
        count = int(count_text)
        digits = "".join(ch for ch in period_text if ch.isdigit())
        unit = period_text[len(digits) :]
        seconds = int(digits or 1) * PERIODS[unit]
    except (ValueError, KeyError):
        raise ImproperlyConfigured(
            f"{name}={rate!r} is not a rate like 1200/min (units: {sorted(PERIODS)})"
        ) from None
    if count < 1:
        raise ImproperlyConfigured(f"{name}={rate!r}: the count must be at least 1")
    return count, seconds
