"""The waiting page's figures: place, people ahead, wait, and the wait in words.

The ONE rule for them. The server computes what the API answers and what the
page first shows with it; static/js/queue.js repeats exactly these two small
functions (`wait`, `words`) to keep the page current between polls of the
public state, with the phrases rendered here (`words_parts`) so both sides
say the same thing (queueing/tests/test_browser.py checks the page).

- number n, serving s (the highest number admitted): the visitor's place in
  line is `position = n - s` (1 = next), `ahead = position - 1` people are in
  front of them (the first in line has 0 ahead);
- wait = position / rate (admissions a minute; the tick's smoothed rate,
  starting at the configured one: selectors._rate), in whole seconds, 0 once
  admitted, unknown (None) while nobody is admitted;
- words: "less than a minute" under a minute; "about N minutes" to the
  nearest minute below an hour; then "about H hours M minutes" to the nearest
  5 minutes; "more than a day" from 24 hours. Never a raw count of seconds.
"""

from __future__ import annotations

import math

from django.utils.translation import gettext as _
from django.utils.translation import npgettext

DAY_MINUTES = 24 * 60


def wait(number: int, serving: int, rate_per_minute: float) -> dict:
    """{position, ahead, eta_seconds} of number `number` while `serving` is admitted."""
    position = max(number - serving, 0)
    if position == 0:
        eta = 0
    elif rate_per_minute > 0:
        eta = math.ceil(position * 60 / rate_per_minute)
    else:
        eta = None
    return {"position": position, "ahead": max(position - 1, 0), "eta_seconds": eta}


def words_parts() -> dict:
    """The phrases of `words` in the active language (also sent to queue.js)."""
    return {
        "unknown": _("not known yet"),
        "under": _("less than a minute"),
        "about": _("about %(duration)s"),
        "day": _("more than a day"),
        # A context of their own: "%(n)d minute" elsewhere reads "in N minutes"
        # (accusative in Russian); here it is a length of time on its own.
        "minutes": [minutes(n) for n in range(60)],
        "hours": [npgettext("wait", "%(n)d hour", "%(n)d hours", n) % {"n": n} for n in range(24)],
    }


def minutes(n: int) -> str:
    return npgettext("wait", "%(n)d minute", "%(n)d minutes", n) % {"n": n}


def words(seconds: int | None, parts: dict | None = None) -> str:
    """The wait as a person says it (see the module doc); queue.js `words` is the same."""
    parts = parts or words_parts()
    if seconds is None:
        return parts["unknown"]
    if seconds < 60:
        return parts["under"]
    minutes = math.floor(seconds / 60 + 0.5)
    if minutes < 60:
        duration = parts["minutes"][minutes]
    else:
        minutes = 5 * math.floor(minutes / 5 + 0.5)
        if minutes >= DAY_MINUTES:
            return parts["day"]
        hours, rest = divmod(minutes, 60)
        duration = parts["hours"][hours] + (" " + parts["minutes"][rest] if rest else "")
    return parts["about"] % {"duration": duration}
