"""The base layer's one table: the transactional outbox (ticketing.outbox)."""

from __future__ import annotations

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
