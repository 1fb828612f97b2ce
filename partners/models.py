"""Partner webhooks: endpoints, the deliveries of events to them, and every
HTTP attempt of a delivery (what the partner answered, how long it took)."""

from __future__ import annotations

import secrets
import uuid

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class WebhookEventType(models.TextChoices):
    QUEUE_ADMITTED = "queue.admitted", _("Admitted from the waiting room")
    ORDER_PAID = "order.paid", _("Order paid")
    ORDER_REFUNDED = "order.refunded", _("Order refunded")
    ORDER_EXPIRED = "order.expired", _("Order expired")
    # Staff refunded some of a paid order's tickets: it stays paid for the others.
    ORDER_PARTIALLY_REFUNDED = "order.partially_refunded", _("Order partially refunded")
    # Staff changed an event's start, doors time, venue or status.
    EVENT_CHANGED = "event.changed", _("Event changed")
    # The event (a concert, a cinema showing) is called off: its orders are refunded.
    EVENT_CANCELLED = "event.cancelled", _("Event cancelled")
    # A cinema showing (an event of a film) is called off, for partners that
    # ask for it by this name: the same data as event.cancelled.
    SHOWING_CANCELLED = "showing.cancelled", _("Showing cancelled")


class WebhookEndpoint(models.Model):
    """A URL of a partner's server and the events it wants.

    The signing secret is stored as it is (not hashed like API keys): an HMAC
    needs the secret itself on our side. It is shown to staff once, when
    created or rotated, and never again (admin does not show the field).
    During a rotation the previous secret keeps signing, next to the new one,
    until `previous_secret_expires_at`.
    """

    SECRET_PREFIX = "whsec_"  # noqa: S105 (a prefix, not a secret)

    partner = models.ForeignKey(
        "api.Partner", on_delete=models.CASCADE, related_name="webhook_endpoints"
    )
    url = models.URLField(max_length=500)
    events = models.JSONField(default=list)
    description = models.CharField(max_length=200, blank=True)
    is_active = models.BooleanField(default=True)
    secret = models.CharField(max_length=100, editable=False)
    previous_secret = models.CharField(max_length=100, blank=True, editable=False)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["partner", "id"]

    def __str__(self) -> str:
        return f"{self.partner.slug}: {self.url}"

    @classmethod
    def generate_secret(cls) -> str:
        return cls.SECRET_PREFIX + secrets.token_urlsafe(32)

    def signing_secrets(self, *, now=None) -> list[str]:
        """The secrets that sign now: the current one, and the previous one
        while its rotation window lasts."""
        now = now or timezone.now()
        current = [self.secret]
        if self.previous_secret and (
            self.previous_secret_expires_at and self.previous_secret_expires_at > now
        ):
            current.append(self.previous_secret)
        return current


class WebhookDelivery(models.Model):
    """One event to send to one endpoint (a replay is a new delivery of the
    same event: same `event_id`, its own attempts)."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILING = "failing", _("Failing, will retry")
        # Its last try failed and the outbox tries no more (OUTBOX_MAX_ATTEMPTS):
        # staff or the partner may replay it.
        GIVEN_UP = "given_up", _("Given up")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    partner = models.ForeignKey("api.Partner", on_delete=models.CASCADE, related_name="+")
    event_id = models.UUIDField(db_index=True)
    event_type = models.CharField(max_length=40, choices=WebhookEventType.choices)
    payload = models.JSONField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    replay_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="replays"
    )
    created_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["partner", "-created_at"], name="webhook_partner_idx")]

    def __str__(self) -> str:
        return f"{self.event_type} → {self.endpoint_id} ({self.status})"


class WebhookAttempt(models.Model):
    """One POST of a delivery and what came back."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="tries")
    started_at = models.DateTimeField(default=timezone.now)
    duration_ms = models.PositiveIntegerField(default=0)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.TextField(blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"{self.status_code or self.error[:40]}"
