"""Who hears that a partner's customer was admitted, without queueing
importing them (partners sits above it, DESIGN.md layers).

The admission itself is a Redis decision (state.TICK). For partner customers
(`partner:<slug>:<ref>` visitors, watched at join: state.watch) the tick
turns it into Postgres rows: it calls the listeners inside one transaction
(they write an outbox message, partners' queue.admitted webhook), and only
after the commit stops watching those visitors. A tick that dies before the
commit tells them on the next tick; one that dies after it, before the
unwatch, tells them twice (at least once, as every webhook).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

PARTNER_VISITOR_PREFIX = "partner:"


@dataclass(frozen=True)
class Admission:
    event_id: int
    event_slug: str
    visitor: str  # partner:<slug>:<ref>
    number: int
    claim_by: datetime  # the pass must be claimed before this (the no-show grace)


Listener = Callable[[list[Admission]], None]
_LISTENERS: list[Listener] = []


def admissions_listen(listener: Listener) -> Listener:
    """Called from an upper app's AppConfig.ready; runs inside the tick's transaction."""
    if listener not in _LISTENERS:
        _LISTENERS.append(listener)
    return listener


def admissions_listened() -> bool:
    return bool(_LISTENERS)


def admissions_announce(admissions: list[Admission]) -> None:
    for listener in _LISTENERS:
        listener(admissions)


def is_partner_visitor(visitor: str) -> bool:
    return visitor.startswith(PARTNER_VISITOR_PREFIX)
