from __future__ import annotations

from dataclasses import dataclass

from queueing.exceptions import PassRequired


@dataclass(frozen=True)
class QueuePass:
    room_id: int
    visitor: str  # the buyer key the pass is bound to
    expires_at: float  # unix time
    purchase_cap: int | None  # the phase's per-buyer ticket cap carried by the pass


def pass_validate(*, event_id: int, buyer_key: str, token: str | None) -> QueuePass | None:
    """Check the queue pass for buying from a guarded phase of an event.

    Returns None when the event's waiting room does not guard sales right now
    (no room, or mode off), else the valid pass. Raises PassRequired (423) with
    no token, PassInvalid (423) for a forged or foreign pass, PassExpired (410).
    Touches no Postgres on the hot path.

    (Interface placeholder: the waiting-room work replaces the body.)
    """
    if not token:
        raise PassRequired()
    raise PassRequired()
