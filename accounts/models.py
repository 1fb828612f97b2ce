from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


def new_session_epoch() -> str:
    return secrets.token_hex(8)


class Profile(models.Model):
    """The buyer side of an auth User: the phone and e-mail proven by a code.

    Both are unique (a verified phone or e-mail signs in to exactly one
    account) and nullable (an account may have proven only one of them).
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile"
    )
    phone = models.CharField(_("verified phone"), max_length=20, null=True, blank=True, unique=True)
    email = models.EmailField(_("verified e-mail"), null=True, blank=True, unique=True)
    # Copied into each session at sign-in; "sign out everywhere" rotates it and
    # accounts.middleware.SessionEpochMiddleware drops sessions with an old one.
    session_epoch = models.CharField(max_length=32, default=new_session_epoch)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            # A blank string would collide between accounts: store NULL instead.
            models.CheckConstraint(condition=~Q(phone=""), name="profile_phone_not_blank"),
            models.CheckConstraint(condition=~Q(email=""), name="profile_email_not_blank"),
        ]

    def __str__(self) -> str:
        return self.phone or self.email or f"profile {self.pk}"


class OneTimeCode(models.Model):
    """A 6-digit sign-in code sent to a phone or e-mail.

    Only an HMAC of the code is stored (see accounts.services._code_hash), so
    a database dump does not reveal live codes. A code is dead once used,
    expired, replaced by a newer one (expires_at moved to the past) or after
    too many wrong attempts.
    """

    class Purpose(models.TextChoices):
        SIGNIN = "signin", _("Sign-in")

    identity = models.CharField(max_length=254)  # normalised: E.164 phone or lower-case e-mail
    purpose = models.CharField(max_length=16, choices=Purpose.choices, default=Purpose.SIGNIN)
    code_hash = models.CharField(max_length=128)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # code_verify / code_send: the latest code of one identity.
            models.Index(
                fields=["identity", "purpose", "-created_at"], name="otp_identity_latest_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"code for {self.identity} ({self.purpose})"
