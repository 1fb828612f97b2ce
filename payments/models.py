"""Payments' models. Their tables keep the names they had when payments was
part of orders (db_table): the move was state only (payments 0001)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from orders.models import Order


class Payment(models.Model):
    class Status(models.TextChoices):
        CREATED = "created", _("Created")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")
        REFUND_PENDING = "refund_pending", _("Refund pending")
        REFUNDED = "refunded", _("Refunded")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="payments")
    provider = models.CharField(max_length=30, default="sandbox")
    provider_ref = models.CharField(max_length=100, blank=True)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.CREATED)
    return_url = models.CharField(max_length=500, blank=True)
    # Never the full card number: brand, BIN (first 6) and last 4 only.
    card_brand = models.CharField(max_length=20, blank=True)
    card_bin = models.CharField(max_length=8, blank=True)
    card_last4 = models.CharField(max_length=4, blank=True)
    failure_reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    # Reconciliation (payments_reconcile): when to ask the provider about a
    # payment still `created`, and how often it was asked. Claimed by a
    # conditional UPDATE on the old value; null once there is nothing to ask.
    reconcile_after = models.DateTimeField(null=True, blank=True)
    reconcile_attempts = models.PositiveSmallIntegerField(default=0)

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        db_table = "orders_payment"
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=0), name="payment_amount_not_negative"),
        ]
        indexes = [
            models.Index(
                fields=["reconcile_after"],
                name="payment_reconcile_due",
                condition=Q(status="created"),
            ),
            # payments_refund_redrive: refund_pending payments without an
            # outbox message (rows from before the outbox), every reconcile run.
            models.Index(
                fields=["created_at"],
                name="payment_refund_pending",
                condition=Q(status="refund_pending"),
            ),
        ]

    def __str__(self) -> str:
        return f"payment {self.pk} {self.status}"


class PaymentCallback(models.Model):
    """Each provider callback processed once: (provider, event_id) is unique."""

    provider = models.CharField(max_length=30)
    event_id = models.CharField(max_length=100)
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="callbacks")
    status = models.CharField(max_length=20)
    payload = models.JSONField(default=dict)
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("payment callback")
        verbose_name_plural = _("payment callbacks")
        db_table = "orders_paymentcallback"
        constraints = [
            models.UniqueConstraint(fields=["provider", "event_id"], name="callback_once"),
        ]

    def __str__(self) -> str:
        return f"{self.provider}:{self.event_id}"


class Refund(models.Model):
    """One staff refund of a paid order: which tickets, how much, why, by whom.

    A whole refund (every ticket not refunded before) turns the order
    `refunded` and its payment `refund_pending` (the provider returns what is
    left). A partial one leaves the order paid for its other tickets, lowers
    `Order.quantity` by the refunded tickets and asks the provider for this
    amount only (`requested` until the provider's refund callback: `done`).
    """

    class Status(models.TextChoices):
        REQUESTED = "requested", _("Requested")
        DONE = "done", _("Done")

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="refunds")
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    amount = models.DecimalField(_("amount"), max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3)
    whole = models.BooleanField(_("whole order"))
    ticket_ids = models.JSONField(default=list)
    reason = models.TextField(_("reason"))
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.REQUESTED)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("refund")
        verbose_name_plural = _("refunds")
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="refund_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.amount} {self.currency} · {self.created_at:%Y-%m-%d %H:%M}"
