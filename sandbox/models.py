"""The acquirer's own books. Nothing here points at kassa's tables: a payment
is known by the id the merchant signed into the payment link."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class SandboxPayment(models.Model):
    """A payment as the merchant registered it (the signed payment link), the
    first time the buyer's browser brought it."""

    id = models.UUIDField(primary_key=True)  # the merchant's payment id
    merchant = models.CharField(max_length=100)
    description = models.CharField(max_length=200, blank=True)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3)
    return_url = models.CharField(max_length=500)
    callback_url = models.CharField(max_length=500)
    # The merchant's card restriction (a presale for one bank's cards); the
    # note is the merchant's own words for it, in the buyer's language.
    card_brands = models.JSONField(default=list, blank=True)
    card_bins = models.JSONField(default=list, blank=True)
    card_note = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "sandbox_payment"
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gte=0), name="sandbox_payment_amount_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"sandbox payment {self.pk}"


class SandboxCharge(models.Model):
    """What the gateway did with a payment's money: one row per payment (the
    unique key is "charge once" for a double-submitted form). The status query,
    which the merchant's reconciliation trusts, answers from it, so it lives in
    Postgres (it survives a Redis loss). Never a card number: brand, BIN, last 4.
    """

    class Status(models.TextChoices):
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")
        REFUNDED = "refunded", _("Refunded")

    payment = models.OneToOneField(SandboxPayment, on_delete=models.PROTECT, related_name="charge")
    status = models.CharField(max_length=10, choices=Status.choices)
    card = models.JSONField(default=dict, blank=True)  # brand, bin, last4
    reason = models.CharField(max_length=200, blank=True)  # the decline's reason
    event_id = models.CharField(max_length=100, blank=True)  # the charge's callback
    refunded_amount = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "sandbox_charge"
        constraints = [
            models.CheckConstraint(
                condition=Q(refunded_amount__gte=0), name="sandbox_refund_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"sandbox charge {self.payment_id} {self.status}"


class SandboxRefund(models.Model):
    """One refund the merchant asked for, by its own id: asking again is the
    same refund (the outbox that asks retries), never more money back."""

    payment = models.ForeignKey(SandboxPayment, on_delete=models.PROTECT, related_name="refunds")
    refund_id = models.CharField(max_length=100, unique=True)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "sandbox_refund"
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="sandbox_refund_positive"),
        ]

    def __str__(self) -> str:
        return f"sandbox refund {self.refund_id} {self.amount}"
