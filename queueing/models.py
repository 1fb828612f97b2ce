from __future__ import annotations

import hashlib
import secrets

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


def _new_seed() -> str:
    return secrets.token_hex(32)


class WaitingRoom(models.Model):
    """The waiting room guarding an event's on-sale; its live state is in Redis.

    The shuffle seed is generated with the room; only sha256(seed) is shown
    until the sale opens (`seed_revealed_at`), so the pre-queue order cannot be
    chosen after the fact and anyone can re-check it (`manage.py queue_verify`).
    """

    class Mode(models.TextChoices):
        OFF = "off", _("Off")
        ON = "on", _("On")
        AUTO = "auto", _("Automatic")

    event = models.OneToOneField(
        "events.Event", on_delete=models.CASCADE, related_name="waiting_room"
    )
    mode = models.CharField(_("mode"), max_length=4, choices=Mode.choices, default=Mode.ON)
    prequeue_opens_at = models.DateTimeField(_("pre-queue opens at"), null=True, blank=True)
    sale_opens_at = models.DateTimeField(_("sale opens at"))
    admission_rate_per_minute = models.PositiveIntegerField(_("admissions per minute"), default=600)
    max_active_shoppers = models.PositiveIntegerField(_("max active shoppers"), default=2000)
    pass_minutes = models.PositiveIntegerField(_("pass minutes"), default=15)
    no_show_grace_seconds = models.PositiveIntegerField(_("no-show grace (s)"), default=120)
    # Mode auto: the room turns on above this many active shoppers.
    auto_threshold = models.PositiveIntegerField(_("auto threshold"), default=1000)
    # Stock reserved per admitted shopper when deciding whether to admit more.
    expected_tickets_per_buyer = models.DecimalField(
        _("expected tickets per buyer"), max_digits=4, decimal_places=2, default=2
    )
    paused = models.BooleanField(_("paused"), default=False)
    # Drain: admit nobody new; shoppers already admitted finish; waiting
    # visitors are told the room is closed.
    draining = models.BooleanField(_("draining"), default=False)
    seed = models.CharField(max_length=64, default=_new_seed, editable=False)
    seed_hash = models.CharField(_("seed commitment (sha256)"), max_length=64, editable=False)
    seed_revealed_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Public shuffle export: {"seed_hash", "base", "order": [[sha256(visitor), number], ...]}.
    shuffle_export = models.JSONField(default=dict, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("waiting room")
        verbose_name_plural = _("waiting rooms")
        constraints = [
            models.CheckConstraint(
                condition=Q(prequeue_opens_at__isnull=True)
                | Q(prequeue_opens_at__lte=models.F("sale_opens_at")),
                name="waitingroom_prequeue_before_sale",
            ),
            models.CheckConstraint(
                condition=Q(max_active_shoppers__gte=1), name="waitingroom_capacity_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event}: {self.get_mode_display()}"

    def save(self, *args, **kwargs):
        if not self.seed_hash:
            self.seed_hash = hashlib.sha256(self.seed.encode()).hexdigest()
        super().save(*args, **kwargs)

    @property
    def revealed_seed(self) -> str | None:
        return self.seed if self.seed_revealed_at else None


class WaitingRoomSnapshot(models.Model):
    """Counters copied from Redis by the tick, to rebuild a room after a Redis loss."""

    room = models.ForeignKey(WaitingRoom, on_delete=models.CASCADE, related_name="snapshots")
    taken_at = models.DateTimeField(default=timezone.now)
    phase = models.CharField(max_length=10)
    tail = models.BigIntegerField()
    serving = models.BigIntegerField()
    counters = models.JSONField(default=dict)

    class Meta:
        verbose_name = _("waiting room snapshot")
        verbose_name_plural = _("waiting room snapshots")
        indexes = [
            # "latest snapshot of a room" for recovery and the staff chart.
            models.Index(fields=["room", "-taken_at"], name="qsnapshot_latest_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.room_id} @ {self.taken_at:%H:%M:%S}: {self.serving}/{self.tail}"
