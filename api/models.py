from __future__ import annotations

import hashlib
import secrets

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Partner(models.Model):
    """A partner app (a bank's super-app, say) selling through the API."""

    slug = models.SlugField(unique=True)
    name = models.CharField(max_length=200)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)
    # In-app payment (payments.on_account): the partner charges its own
    # customer and confirms the order with a request signed by this secret.
    # Stored as it is (an HMAC needs it on our side), shown to staff once when
    # made; only payments.services sets these (partner_on_account_enable).
    on_account = models.BooleanField(_("on-account payment"), default=False, editable=False)
    on_account_secret = models.CharField(max_length=100, blank=True, editable=False)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.name

    @property
    def channel(self) -> str:
        return f"partner:{self.slug}"


class Scope(models.TextChoices):
    CATALOG = "catalog", _("Catalogue")
    SELL = "sell", _("Sell")
    CHECKIN = "checkin", _("Check-in")
    SETTLEMENT = "settlement", _("Settlement report")
    SCHEDULE = "schedule", _("Cinema schedule import")


class ApiKey(models.Model):
    """`Authorization: Api-Key <prefix>.<secret>`; only a hash of the whole key is stored."""

    PREFIX_LENGTH = 8

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="keys")
    name = models.CharField(max_length=200, blank=True)
    prefix = models.CharField(max_length=PREFIX_LENGTH, unique=True, editable=False)
    hashed_key = models.CharField(max_length=64, editable=False)
    scopes = models.JSONField(default=list)
    # Check-in is limited to these events; none means every event, which is how
    # every key made before this field behaves (kept so, and said in the API
    # schema), and what a box-office key for all shows wants.
    events = models.ManyToManyField(
        "events.Event",
        blank=True,
        related_name="+",
        help_text=_("Check-in only for these events. Empty: every event."),
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.partner.slug} {self.prefix}…"

    @staticmethod
    def hash(raw_key: str) -> str:
        # The secret is 256 random bits, so a plain SHA-256 (no slow KDF) is
        # enough and keeps authentication cheap on every API call.
        return hashlib.sha256(raw_key.encode()).hexdigest()

    @classmethod
    def generate(cls) -> tuple[str, str]:
        """A new (prefix, full key) pair; the full key is shown to staff once."""
        prefix = secrets.token_hex(cls.PREFIX_LENGTH // 2)
        return prefix, f"{prefix}.{secrets.token_urlsafe(32)}"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and self.partner.is_active

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes

    def event_ids(self) -> set[int] | None:
        """The events this key is limited to, or None for every event."""
        ids = set(self.events.values_list("pk", flat=True))
        return ids or None


class IdempotencyRecord(models.Model):
    """The first response to a creating POST sent with an `Idempotency-Key`.

    A request claims (fingerprint, key) by inserting this row before the view
    runs (INSERT … ON CONFLICT DO NOTHING, see api/idempotency.py), so of two
    concurrent duplicates exactly one runs; the other sees `completed=False`
    and is told to retry. Rows live 24 h (api.tasks.idempotency_purge).
    """

    key = models.CharField(max_length=255)
    # sha256 of (caller identity, method, path): the same key from another
    # partner or for another endpoint is a different record.
    fingerprint = models.CharField(max_length=64)
    request_hash = models.CharField(max_length=64)  # sha256 of the raw body
    completed = models.BooleanField(default=False)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.BinaryField(default=b"", blank=True)
    response_headers = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    # When the current attempt claimed the key: an attempt whose process died
    # leaves completed=False; after a timeout another attempt may take over.
    claimed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["fingerprint", "key"], name="idempotency_claim_unique"),
        ]
        indexes = [
            # The hourly purge: DELETE … WHERE created_at < now() - 24 h.
            models.Index(fields=["created_at"], name="idempotency_created_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.key} ({'done' if self.completed else 'in flight'})"
