"""Errors of sign-in. Each carries a translatable message shown as is on the
pages, and `retry_after` (seconds) where waiting helps."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from ticketing.errors import KassaError


class InvalidIdentity(KassaError):
    code = "invalid_identity"
    status = 400
    default_message = _(
        "Enter a mobile phone number (for example +7 701 234 56 78) or an e-mail address."
    )


class InvalidPhone(InvalidIdentity):
    code = "invalid_phone"
    default_message = _(
        "This phone number is not valid. Enter a mobile number such as +7 701 234 56 78."
    )


class PhoneRegionNotServed(InvalidIdentity):
    """SMS to far-away networks is where sign-in codes get abused for toll
    fraud ("SMS pumping"), so only the regions we sell to are served."""

    code = "phone_region_not_served"
    default_message = _("We cannot send codes to this country. Sign in with your e-mail instead.")


class InvalidEmail(InvalidIdentity):
    code = "invalid_email"
    default_message = _("This e-mail address is not valid.")


class TooManyCodes(KassaError):
    """Sending is rate-limited per identity and per IP."""

    code = "too_many_codes"
    status = 429
    default_message = _("Too many codes were requested. Try again later.")


class CodeInvalid(KassaError):
    code = "code_invalid"
    status = 400
    default_message = _("The code is wrong.")


class CodeExpired(KassaError):
    code = "code_expired"
    status = 400
    default_message = _("The code has expired. Request a new one.")


class CodeMissing(KassaError):
    code = "code_missing"
    status = 400
    default_message = _("There is no active code for this number or e-mail. Request a new one.")


class CodeAttemptsExceeded(KassaError):
    code = "code_attempts_exceeded"
    status = 400
    default_message = _("Too many wrong attempts: this code no longer works. Request a new one.")


class SigninUnavailable(KassaError):
    """Redis (the rate limiter) is down: sending unlimited codes would invite abuse."""

    code = "signin_unavailable"
    status = 503
    default_message = _("Sign-in is temporarily unavailable. Try again in a minute.")
    retry_after = 60


class AccountDisabled(KassaError):
    code = "account_disabled"
    status = 403
    default_message = _("This account is blocked. Contact support.")
