"""A sale phase's card rule (SalePhase.card_brands + card_bin_prefixes), in words
and as a check. Provider-neutral: the event pages say the rule before checkout,
the sandbox form refuses such a card before charging, and settlement
(payments.services) checks the card every provider reports, so a real
acquirer's payment obeys the rule too.
"""

from __future__ import annotations

from django.utils.translation import gettext as _


def card_rule_refusal(*, brand: str, bin6: str, brands: list[str], bins: list[str]) -> str:
    """Why the phase's card rule refuses this card, or "" if it is allowed."""
    allowed = [b.lower() for b in brands]
    if allowed and brand not in allowed:
        return _("This sale accepts only %(brands)s cards.") % {
            "brands": ", ".join(b.title() for b in allowed)
        }
    if bins and not any(bin6.startswith(prefix) for prefix in bins):
        return _("This sale accepts only cards of the partner bank (BIN %(bins)s).") % {
            "bins": ", ".join(bins)
        }
    return ""


def card_rule_words(*, brands: list[str], bins: list[str]) -> str:
    """The rule as the buyer reads it ("Only these cards are accepted: …")."""
    if not brands and not bins:
        return _("Any card is accepted.")
    parts = []
    if brands:
        parts.append(_("brands: %(b)s") % {"b": ", ".join(b.title() for b in brands)})
    if bins:
        parts.append(_("cards starting with %(p)s") % {"p": ", ".join(bins)})
    return _("Only these cards are accepted: %(rule)s.") % {"rule": "; ".join(parts)}
