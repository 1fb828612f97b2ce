"""Password-less sign-in: send a one-time code, verify it, sign the buyer in.

Flow: `code_send` parses the phone/e-mail, applies the Redis rate limits,
replaces any earlier code with a new one (stored as an HMAC only) and sends
it after commit; `code_verify` checks the latest code under a row lock and
returns the account (created on the first successful code).
"""

from __future__ import annotations

import logging
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta

import phonenumbers
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django_redis import get_redis_connection
from redis.exceptions import RedisError

from accounts import exceptions, sms
from accounts.models import OneTimeCode, Profile, new_session_epoch
from accounts.signals import identity_verified
from ticketing.audit import AuditAction, audit_log

User = get_user_model()
logger = logging.getLogger(__name__)

PHONE = "phone"
EMAIL = "email"
_HOUR = 3600


@dataclass(frozen=True)
class Identity:
    kind: str  # PHONE or EMAIL
    value: str  # E.164 phone or lower-case e-mail


def identity_parse(raw: str) -> Identity:
    """Normalise what a buyer typed: an e-mail (contains "@") or a phone number.

    Phones are read with `phonenumbers` (default region PHONE_DEFAULT_REGION,
    so "8 701 234 56 78" and "701 234 5678" mean +77012345678) and must be
    valid mobile-capable numbers. Raises InvalidPhone / InvalidEmail /
    InvalidIdentity.
    """
    raw = (raw or "").strip()
    if not raw:
        raise exceptions.InvalidIdentity()
    if "@" in raw:
        local, _at, domain = raw.rpartition("@")
        # The domain is case-insensitive; the local part is lower-cased too,
        # as every mainstream provider treats it so and buyers mistype case.
        value = f"{local}@{domain}".lower()
        try:
            validate_email(value)
        except ValidationError:
            raise exceptions.InvalidEmail() from None
        return Identity(EMAIL, value)
    if len(raw) > 32:
        raise exceptions.InvalidPhone()
    try:
        number = phonenumbers.parse(raw, settings.PHONE_DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        raise exceptions.InvalidPhone() from None
    if not phonenumbers.is_valid_number(number) or phonenumbers.number_type(number) not in (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    ):
        raise exceptions.InvalidPhone()
    allowed = settings.PHONE_ALLOWED_REGIONS
    if allowed and phonenumbers.region_code_for_number(number) not in allowed:
        raise exceptions.PhoneRegionNotServed()
    return Identity(PHONE, phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def identity_display(value: str) -> str:
    """A normalised identity as a person reads it: "+7 701 234 5678" or the e-mail."""
    if value.startswith("+"):
        try:
            number = phonenumbers.parse(value)
        except phonenumbers.NumberParseException:
            return value
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    return value


def _code_hash(*, identity: str, purpose: str, code: str) -> str:
    # HMAC keyed with SECRET_KEY: a six-digit code has only 10^6 values, so a
    # plain or merely salted hash would be brute-forced from a database dump.
    return salted_hmac(
        "kassa.accounts.one_time_code", f"{purpose}|{identity}|{code}", algorithm="sha256"
    ).hexdigest()


def _wait_text(seconds: int) -> str:
    if seconds >= 120:
        minutes = (seconds + 59) // 60
        return ngettext("%(n)d minute", "%(n)d minutes", minutes) % {"n": minutes}
    return ngettext("%(n)d second", "%(n)d seconds", seconds) % {"n": seconds}


def _limit_hit(key: str, *, limit: int, window: int) -> int:
    """Count one hit in a fixed window; return 0 if allowed, else seconds to wait.

    SET NX EX + INCR in one MULTI: the counter always carries its expiry,
    even if this process dies between the two commands.
    """
    pipe = get_redis_connection("default").pipeline(transaction=True)
    pipe.set(key, 0, ex=window, nx=True)
    pipe.incr(key)
    pipe.ttl(key)
    _created, count, ttl = pipe.execute()
    if count > limit:
        return max(int(ttl), 1)
    return 0


def _rate_limit(*, identity: Identity, ip: str | None) -> None:
    """Raise TooManyCodes (with retry_after) when any sending limit is reached.

    Order matters: the per-IP counter is checked first so that one address
    spraying many phone numbers is stopped without touching their counters.
    """
    checks = []
    if ip:
        checks.append((f"kassa:otp:ip:{ip}", settings.OTP_PER_IP_HOUR, _HOUR, "ip"))
    checks.append((f"kassa:otp:id:{identity.value}:gap", 1, settings.OTP_RESEND_SECONDS, "gap"))
    checks.append(
        (f"kassa:otp:id:{identity.value}:hour", settings.OTP_PER_IDENTITY_HOUR, _HOUR, "hour")
    )
    for key, limit, window, kind in checks:
        if window <= 0:
            continue
        try:
            wait = _limit_hit(key, limit=limit, window=window)
        except RedisError:
            # Fail closed: without counters nothing stops an SMS-pumping run.
            logger.exception("sign-in rate limiter unavailable")
            raise exceptions.SigninUnavailable() from None
        if not wait:
            continue
        if kind == "ip":
            text = _("Too many codes were requested from your network. Try again in %(wait)s.")
        elif kind == "gap":
            text = _("A code was just sent. You can request a new one in %(wait)s.")
        else:
            text = _(
                "Too many codes were requested for this number or e-mail. Try again in %(wait)s."
            )
        raise exceptions.TooManyCodes(
            text % {"wait": _wait_text(wait)}, retry_after=wait, details={"limit": kind}
        )


def _deliver(*, identity: Identity, code: str, language: str) -> None:
    with translation.override(language):
        minutes = settings.OTP_TTL_SECONDS // 60
        if identity.kind == PHONE:
            text = _("kassa code: %(code)s. Valid %(minutes)d min. Do not share it.") % {
                "code": code,
                "minutes": minutes,
            }
            sms.sms_send(phone=identity.value, text=text)
            return
        context = {"code": code, "minutes": minutes}
        message = EmailMultiAlternatives(
            subject=_("Your kassa sign-in code: %(code)s") % {"code": code},
            body=render_to_string("accounts/email/code.txt", context),
            to=[identity.value],
        )
        html = render_to_string("accounts/email/code.html", context)
        message.attach_alternative(html, "text/html")
        message.send()


def code_send(*, identity_raw: str, ip: str | None) -> Identity:
    """Send a fresh sign-in code to a phone (SMS) or e-mail; return the identity.

    Raises InvalidIdentity (and subclasses) for bad input and TooManyCodes
    when a rate limit is reached; nothing is written then. Earlier live codes
    of the identity stop working. The message goes out after commit.
    """
    identity = identity_parse(identity_raw)
    _rate_limit(identity=identity, ip=ip)
    code = f"{secrets.randbelow(10**6):06d}"
    now = timezone.now()
    purpose = OneTimeCode.Purpose.SIGNIN
    language = translation.get_language() or settings.LANGUAGE_CODE
    with transaction.atomic():
        OneTimeCode.objects.filter(
            identity=identity.value, purpose=purpose, used_at__isnull=True, expires_at__gt=now
        ).update(expires_at=now)
        OneTimeCode.objects.create(
            identity=identity.value,
            purpose=purpose,
            code_hash=_code_hash(identity=identity.value, purpose=purpose, code=code),
            created_at=now,
            expires_at=now + timedelta(seconds=settings.OTP_TTL_SECONDS),
        )
        # robust: a gateway outage is logged, not turned into a 500 after the
        # code was saved; the buyer can ask for a new code.
        transaction.on_commit(
            lambda: _deliver(identity=identity, code=code, language=language), robust=True
        )
    return identity


def _user_for_identity(identity: Identity):
    """The account that proved this identity, created on first sign-in."""
    field = "phone" if identity.kind == PHONE else "email"
    profile = Profile.objects.select_related("user").filter(**{field: identity.value}).first()
    if profile is not None:
        return profile.user
    try:
        # A savepoint: a concurrent first sign-in of the same identity loses
        # on the unique index and then simply finds the winner's account.
        with transaction.atomic():
            user = User(
                username=f"buyer-{uuid.uuid4().hex[:20]}",
                email=identity.value if identity.kind == EMAIL else "",
            )
            user.set_unusable_password()
            user.save()
            Profile.objects.create(user=user, **{field: identity.value})
            audit_log(
                action=AuditAction.ACCOUNT_CREATED, obj=user, actor_user=user, data={"via": field}
            )
            return user
    except IntegrityError:
        return Profile.objects.select_related("user").get(**{field: identity.value}).user


def code_verify(*, identity_raw: str, code: str):
    """Check a code against the identity's latest code; return the signed-in User.

    Locks the code row (SELECT … FOR UPDATE) so concurrent guesses count one
    attempt each. A wrong code counts an attempt (OTP_MAX_ATTEMPTS, then the
    code is dead) and raises CodeInvalid / CodeAttemptsExceeded; an expired,
    replaced or used code raises CodeExpired / CodeMissing. Accounts change
    only on success: the first success creates User + Profile.
    """
    identity = identity_parse(identity_raw)
    code = (code or "").strip().replace(" ", "")
    purpose = OneTimeCode.Purpose.SIGNIN
    now = timezone.now()
    error: exceptions.KassaError | None = None
    user = None
    with transaction.atomic():
        otp = (
            OneTimeCode.objects.select_for_update()
            .filter(identity=identity.value, purpose=purpose)
            .order_by("-created_at", "-id")
            .first()
        )
        if otp is None or otp.used_at is not None:
            error = exceptions.CodeMissing()
        elif otp.expires_at <= now:
            # A code replaced by a newer one is never the latest, so this is
            # a true expiry (or the attempts of a dead code, below).
            error = exceptions.CodeExpired()
        elif otp.attempts >= settings.OTP_MAX_ATTEMPTS:
            error = exceptions.CodeAttemptsExceeded()
        elif not constant_time_compare(
            otp.code_hash, _code_hash(identity=identity.value, purpose=purpose, code=code)
        ):
            otp.attempts += 1
            otp.save(update_fields=["attempts"])
            left = settings.OTP_MAX_ATTEMPTS - otp.attempts
            if left <= 0:
                error = exceptions.CodeAttemptsExceeded()
            else:
                error = exceptions.CodeInvalid(
                    ngettext(
                        "The code is wrong. %(left)d attempt left.",
                        "The code is wrong. %(left)d attempts left.",
                        left,
                    )
                    % {"left": left},
                    details={"attempts_left": left},
                )
        else:
            otp.used_at = now
            otp.save(update_fields=["used_at"])
            user = _user_for_identity(identity)
            if not user.is_active:  # blocked by staff: the right code changes nothing
                error, user = exceptions.AccountDisabled(), None
            else:
                # The buyer just proved this e-mail/phone: orders they placed
                # as a guest with it become theirs ("my tickets" everywhere,
                # orders.signals), in this transaction.
                identity_verified.send(
                    sender=User,
                    user=user,
                    email=identity.value if identity.kind == EMAIL else None,
                    phone=identity.value if identity.kind == PHONE else None,
                )
    # Raised after commit: the counted attempt must survive the error (so do
    # not call this inside an outer atomic block that the error would undo).
    if error is not None:
        raise error
    return user


def sessions_revoke_all(*, user) -> None:
    """Sign the user out on every device: rotate the epoch every session carries.

    SessionEpochMiddleware logs out any session whose stored epoch differs.
    The caller's own session must be logged out (or re-stamped) by the view.
    """
    with transaction.atomic():
        profile, _created = Profile.objects.select_for_update().get_or_create(user=user)
        profile.session_epoch = new_session_epoch()
        profile.save(update_fields=["session_epoch"])
        audit_log(action=AuditAction.ACCOUNT_SESSIONS_REVOKED, obj=user, actor_user=user)


def codes_purge(*, older_than: timedelta = timedelta(days=1)) -> int:
    """Delete one-time codes created before now - older_than; return how many.

    Dead codes are kept a day as support evidence ("did the SMS go out?"),
    then removed so the table stays small.
    """
    with transaction.atomic():
        deleted, _per_model = OneTimeCode.objects.filter(
            created_at__lt=timezone.now() - older_than
        ).delete()
    return deleted
