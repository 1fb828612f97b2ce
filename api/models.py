from __future__ import annotations

import hashlib
import re
import secrets
from urllib.parse import quote

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

# Schemes a return link must never use: they run code or read local files in
# the page (javascript:, data:…) or leave the app for an ordinary web page
# (http: is unencrypted; https is allowed for universal/app links).
UNSAFE_SCHEMES = {"javascript", "data", "vbscript", "file", "blob", "about", "http", "ftp", "ws",
                  "wss", "filesystem", "intent", "chrome", "view-source", "content"}  # fmt: skip
DEEP_LINK = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*)://[^\s<>\"'`\\]+")


def deep_link_validate(value: str) -> None:
    """A partner's app return link: `<scheme>://…{code}…`, a custom scheme of
    its app (`bankapp://kassa/orders/{code}`) or https (an app link)."""
    match = DEEP_LINK.fullmatch(value or "")
    if match is None:
        raise ValidationError(
            _("Enter a link like bankapp://kassa/orders/{code} (scheme://…, no spaces)."),
            code="invalid",
        )
    if match["scheme"] in UNSAFE_SCHEMES:
        raise ValidationError(
            _("The scheme %(scheme)s: is not allowed for an app link."),
            code="scheme",
            params={"scheme": match["scheme"]},
        )
    if "{code}" not in value:
        raise ValidationError(_("The link must contain {code}, the order code."), code="code")


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
    # The webview journey (api.views.webview_start): the partner's server mints
    # a one-time token for its customer, its app opens kassa's pages with it.
    webview_enabled = models.BooleanField(_("webview"), default=False)
    webview_return_link = models.CharField(
        _("app return link"),
        max_length=300,
        blank=True,
        validators=[deep_link_validate],
        help_text=_(
            "Where the order page sends the buyer back into the app, e.g. "
            "bankapp://kassa/orders/{code}. Empty: no link back."
        ),
    )
    webview_token_seconds = models.PositiveSmallIntegerField(
        _("webview token lifetime (s)"),
        default=120,
        validators=[MinValueValidator(10), MaxValueValidator(600)],
    )

    class Meta:
        ordering = ["slug"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(webview_token_seconds__gte=10, webview_token_seconds__lte=600),
                name="partner_webview_token_seconds_range",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def channel(self) -> str:
        return f"partner:{self.slug}"

    def return_link(self, *, code: str) -> str:
        """The app return link for an order, or "" without one configured."""
        if not self.webview_return_link:
            return ""
        return self.webview_return_link.replace("{code}", quote(code, safe=""))


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


class WebviewToken(models.Model):
    """A one-time ticket into kassa's pages for a partner's customer.

    The partner's server mints it (POST /api/v1/webview/tokens/); its app opens
    `/webview/?token=…`. Only a SHA-256 of the token is kept (it is 256 random
    bits); it is spent by a conditional UPDATE (api.services.
    webview_token_redeem), so of two racing opens exactly one starts a session.
    """

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="+")
    token_hash = models.CharField(max_length=64, unique=True)
    buyer_ref = models.CharField(max_length=100)
    # The buyer key of the customer's phone (accounts.selectors.phone_key), never the phone.
    phone_key = models.CharField(max_length=80, blank=True)
    next_path = models.CharField(max_length=500, default="/")
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            # The hourly purge: DELETE … WHERE expires_at < now() - 1 day.
            models.Index(fields=["expires_at"], name="webview_token_expires_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.partner.slug}: {self.buyer_ref}"
