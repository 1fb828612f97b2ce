"""The on-account payment confirmation's identity: partners sign it with the
`Kassa-Signature` scheme (ticketing.signing, the one kassa's webhooks use)
and their secret for on-account payment."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from api.models import Partner


def event_id_of(partner: Partner, reference: str) -> str:
    """The confirmation's callback event id: the partner's own transaction id
    is unique per partner, so (provider, event id) dedupes a confirmation sent
    twice, and two partners may use the same reference."""
    return f"{partner.slug}:{reference}"
