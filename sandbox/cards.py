"""Card checks the way an acquirer makes them: Luhn, expiry, CVC, the brand
from the number's leading digits, and the merchant's card restriction. Never
more than brand, BIN (first 6) and last 4 leave this module."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.utils.translation import gettext as _

# Test cards (API.md): number -> behaviour. Any other valid card succeeds.
SUCCEED = "succeed"
DECLINE = "decline"
INSUFFICIENT_FUNDS = "insufficient_funds"
THREE_DS = "3ds"
DELAYED = "delayed"
DUPLICATE = "duplicate"
NO_CALLBACK = "no_callback"
# The partner-bank numbers in API.md (4400 43…) do not pass Luhn; the listed
# test cards are accepted as they are, every other number must pass it.
TEST_CARDS = {
    "4400430000000001": SUCCEED,
    "4000000000000002": DECLINE,
    "4000000000009995": INSUFFICIENT_FUNDS,
    "4000000000003220": THREE_DS,
    "4000000000000119": DELAYED,
    "4400430000000019": DUPLICATE,
    "4000000000000770": NO_CALLBACK,  # only the merchant's status query settles it
}


def card_digits(raw: str) -> str:
    return "".join(ch for ch in raw if not ch.isspace() and ch != "-")


def luhn_valid(number: str) -> bool:
    # isascii: "²".isdigit() is True, and int("²") would raise below.
    if not (number.isascii() and number.isdigit()) or not 12 <= len(number) <= 19:
        return False
    total = 0
    for index, ch in enumerate(reversed(number)):
        digit = int(ch)
        if index % 2 == 1:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def card_brand(number: str) -> str:
    """Brand from the leading digits (the IIN ranges the card schemes publish)."""
    two, four = int(number[:2] or 0), int(number[:4] or 0)
    if number.startswith("4"):
        return "visa"
    if 51 <= two <= 55 or 2221 <= four <= 2720:
        return "mastercard"
    if two in (34, 37):
        return "amex"
    if number.startswith("62"):
        return "unionpay"
    if 3528 <= four <= 3589:
        return "jcb"
    if number.startswith(("2200", "2201", "2202", "2203", "2204")):
        return "mir"
    if number.startswith(("6011", "65")):
        return "discover"
    if number.startswith(("50", "56", "57", "58", "6")):
        return "maestro"
    return "unknown"


@dataclass(frozen=True)
class CardCheck:
    ok: bool
    reason: str = ""
    field: str = ""
    brand: str = ""
    bin: str = ""
    last4: str = ""

    def card(self) -> dict[str, str]:
        return {"brand": self.brand, "bin": self.bin, "last4": self.last4}


def card_check(*, number: str, exp_month: str, exp_year: str, cvc: str, today: date) -> CardCheck:
    """Validate the form fields; never keep more than brand, BIN and last 4."""
    digits = card_digits(number)
    if digits not in TEST_CARDS and not luhn_valid(digits):
        return CardCheck(False, _("The card number is not valid."), "card_number")
    try:
        month, year = int(exp_month), int(exp_year)
    except (TypeError, ValueError):
        return CardCheck(False, _("Enter the expiry month and year."), "exp_month")
    if year < 100:
        year += 2000
    if not 1 <= month <= 12:
        return CardCheck(False, _("The expiry month must be 1 to 12."), "exp_month")
    if (year, month) < (today.year, today.month):
        return CardCheck(False, _("The card has expired."), "exp_year")
    if not ((cvc or "").isascii() and cvc.isdigit()) or len(cvc) not in (3, 4):
        return CardCheck(False, _("The CVC is the 3 or 4 digits on the back."), "cvc")
    return CardCheck(True, brand=card_brand(digits), bin=digits[:6], last4=digits[-4:])


def card_behaviour(number: str) -> str:
    return TEST_CARDS.get(card_digits(number), SUCCEED)


def card_restricted(*, check: CardCheck, brands: list[str], bins: list[str]) -> str:
    """Why the merchant's restriction refuses this card, or "" if it may pay.

    The merchant says which brands and BIN prefixes it takes for this payment
    (a presale for one bank's cards); the gateway refuses others before
    charging. The merchant checks the reported card again at settlement."""
    allowed = [b.lower() for b in brands]
    if allowed and check.brand not in allowed:
        return _("The merchant accepts only %(brands)s cards for this payment.") % {
            "brands": ", ".join(b.title() for b in allowed)
        }
    if bins and not any(check.bin.startswith(prefix) for prefix in bins):
        return _("The merchant accepts only cards starting with %(bins)s for this payment.") % {
            "bins": ", ".join(bins)
        }
    return ""
