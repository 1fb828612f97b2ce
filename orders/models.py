from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class AuditEntry(models.Model):
    """Who changed what, when: one row per state change, written in the same
    transaction as the change itself (STYLE.md rule 6)."""

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Free-form actor for non-user callers: "partner:halyk", "system:sweeper", "gateway:sandbox".
    actor = models.CharField(max_length=100, blank=True)
    action = models.CharField(max_length=100, db_index=True)  # dotted: "order.paid"
    object_type = models.CharField(max_length=50)
    object_id = models.CharField(max_length=64)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "audit entries"
        indexes = [
            # The audit trail shown on an object's admin page.
            models.Index(fields=["object_type", "object_id"], name="audit_object_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.object_type}:{self.object_id}"
