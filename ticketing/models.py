"""The base layer's tables: the transactional outbox (ticketing.outbox) and
the audit trail (ticketing.audit), both written by every app above."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class OutboxMessage(models.Model):
    """One piece of work decided by a committed transaction (DESIGN.md, invariant 3).

    Written in the transaction that decides the work, so the work exists exactly
    when the decision does; Celery only brings it forward. States, by the two
    timestamps: pending (`due_at` set, `done_at` null), done (`done_at` set),
    given up (both null, `last_error` says why).
    """

    kind = models.CharField(max_length=60)  # dotted: "payments.refund"
    payload = models.JSONField(default=dict)
    # When a run may take it next: the first try, then the claim's lease, then
    # the back-off after a failure. Null once done or given up.
    due_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    done_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # The sweep's scan: done_at IS NULL AND due_at <= now() ORDER BY due_at.
            models.Index(
                fields=["due_at"], name="outbox_due_idx", condition=Q(done_at__isnull=True)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk}"

    @property
    def state(self) -> str:
        if self.done_at is not None:
            return "done"
        return "pending" if self.due_at is not None else "given_up"


class AuditAction(models.TextChoices):
    """Every kind of audited state change (STYLE.md rule 6), `<entity>.<what>`.

    One list, so a new action is added here and nowhere else, and admin can
    filter by it. Callers import it from ticketing.audit, next to audit_log.
    The label is derived from the member's name (staff-facing, not translated).
    """

    ACCOUNT_CREATED = "account.created"
    ACCOUNT_SESSIONS_REVOKED = "account.sessions_revoked"
    ALLOCATION_CREATED = "allocation.created"
    ALLOCATION_RELEASED = "allocation.released"
    API_KEY_CREATED = "api_key.created"
    API_KEY_REVOKED = "api_key.revoked"
    EVENT_CANCELLED = "event.cancelled"
    EVENT_CHANGED = "event.changed"
    EVENT_DUPLICATED = "event.duplicated"
    EVENT_STATUS_CHANGED = "event.status_changed"
    EVENTSEAT_BLOCK = "eventseat.block"
    EVENTSEAT_UNBLOCK = "eventseat.unblock"
    HOLD_CREATED = "hold.created"
    HOLD_EXPIRED = "hold.expired"
    HOLD_EXTENDED_FOR_PAYMENT = "hold.extended_for_payment"
    HOLD_RELEASED = "hold.released"
    ORDER_ATTACHED = "order.attached"
    ORDER_CANCELLED = "order.cancelled"
    ORDER_CREATED = "order.created"
    ORDER_EXPIRED = "order.expired"
    ORDER_PAID = "order.paid"
    ORDER_PARTLY_REFUNDED = "order.partly_refunded"
    ORDER_REFUNDED = "order.refunded"
    PARTNER_ON_ACCOUNT_DISABLED = "partner.on_account_disabled"
    PARTNER_ON_ACCOUNT_ENABLED = "partner.on_account_enabled"
    PAYMENT_CALLBACK_MISMATCH = "payment.callback_mismatch"
    PAYMENT_FAILED = "payment.failed"
    PAYMENT_RECONCILE_GAVE_UP = "payment.reconcile_gave_up"
    PAYMENT_RECONCILED = "payment.reconciled"
    PAYMENT_REFUND_REQUESTED = "payment.refund_requested"
    PAYMENT_REFUNDED = "payment.refunded"
    PAYMENT_STARTED = "payment.started"
    PAYMENT_SUCCEEDED = "payment.succeeded"
    QUEUE_AUTO_OFF = "queue.auto_off"
    QUEUE_AUTO_ON = "queue.auto_on"
    QUEUE_ROOM_CREATED = "queue.room_created"
    QUEUE_ROOM_UPDATED = "queue.room_updated"
    QUEUE_SHUFFLE_REVEALED = "queue.shuffle_revealed"
    TICKET_CHECKED_IN = "ticket.checked_in"
    TICKET_CHECKIN_OVERRIDDEN = "ticket.checkin_overridden"
    WEBHOOK_DELIVERY_REPLAYED = "webhook_delivery.replayed"
    WEBHOOK_ENDPOINT_CREATED = "webhook_endpoint.created"
    WEBHOOK_ENDPOINT_DISABLED = "webhook_endpoint.disabled"
    WEBHOOK_ENDPOINT_SECRET_ROTATED = "webhook_endpoint.secret_rotated"  # noqa: S105


class AuditEntry(models.Model):
    """Who changed what, when: one row per state change, written in the same
    transaction as the change itself (STYLE.md rule 6).

    The table keeps its first name, orders_auditentry: the model moved here from
    orders (so that every app can audit without importing orders) by a
    state-only migration, and renaming a large append-only table would buy
    nothing but a long lock.
    """

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Free-form actor for non-user callers: "partner:halyk", "system:sweeper", "gateway:sandbox".
    actor = models.CharField(max_length=100, blank=True)
    # Dotted, one of ticketing.audit.AuditAction: "order.paid".
    action = models.CharField(max_length=100, db_index=True, choices=AuditAction.choices)
    object_type = models.CharField(max_length=50)
    object_id = models.CharField(max_length=64)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        db_table = "orders_auditentry"
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "audit entries"
        indexes = [
            # The audit trail shown on an object's admin page.
            models.Index(fields=["object_type", "object_id"], name="audit_object_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.object_type}:{self.object_id}"
