from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Hold(models.Model):
    """Stock reserved for one buyer for a few minutes.

    Seats: the EventSeat rows whose hold_id is this hold (and `seat_ids`, the
    snapshot taken at creation, which survives a takeover after expiry).
    Standing places: HoldStanding rows, counted in StandingArea.held.
    """

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        CONVERTED = "converted", _("Converted to an order")
        RELEASED = "released", _("Released")
        EXPIRED = "expired", _("Expired")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    event = models.ForeignKey("events.Event", on_delete=models.PROTECT, related_name="holds")
    phase = models.ForeignKey("events.SalePhase", on_delete=models.PROTECT, related_name="holds")
    buyer_key = models.CharField(max_length=200)
    channel = models.CharField(max_length=80)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    seat_ids = models.JSONField(default=list, blank=True)  # EventSeat ids at creation
    quantity = models.PositiveIntegerField()  # seats + standing places
    total = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3)
    expires_at = models.DateTimeField()
    extended = models.BooleanField(default=False)  # the one payment-time extension used
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("hold")
        verbose_name_plural = _("holds")
        ordering = ["-created_at"]
        indexes = [
            # Per-buyer limit: this buyer's live holds for an event.
            models.Index(
                fields=["event", "buyer_key"],
                name="hold_buyer_active_idx",
                condition=Q(status="active"),
            ),
            # The sweeper's scan of active holds past expiry.
            models.Index(
                fields=["expires_at"], name="hold_expiry_idx", condition=Q(status="active")
            ),
            # The on-sale console and the post-sale report: an event's holds per minute.
            models.Index(fields=["event", "created_at"], name="hold_event_created_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gte=1), name="hold_quantity_positive"),
        ]

    def __str__(self) -> str:
        return f"hold {self.pk} ({self.status})"


class HoldStanding(models.Model):
    hold = models.ForeignKey(Hold, on_delete=models.CASCADE, related_name="standing")
    area = models.ForeignKey("events.StandingArea", on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField()
    # The allocation the places were taken from (None: the general sale):
    # where they go back to on expiry, release or refund.
    allocation = models.ForeignKey(
        "events.Allocation", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("standing places of a hold")
        verbose_name_plural = _("standing places of holds")
        constraints = [
            models.UniqueConstraint(fields=["hold", "area"], name="holdstanding_unique"),
            models.CheckConstraint(condition=Q(quantity__gte=1), name="holdstanding_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x area {self.area_id}"


class Order(models.Model):
    class Status(models.TextChoices):
        PENDING_PAYMENT = "pending_payment", _("Awaiting payment")
        PAID = "paid", _("Paid")
        CANCELLED = "cancelled", _("Cancelled")
        EXPIRED = "expired", _("Expired")
        REFUNDED = "refunded", _("Refunded")

    # Public code: short, no ambiguous characters (see orders.services).
    code = models.CharField(max_length=12, unique=True)
    # Unguessable token for the buyer's links (order page without an account).
    access_token = models.CharField(max_length=64, unique=True)
    event = models.ForeignKey("events.Event", on_delete=models.PROTECT, related_name="orders")
    phase = models.ForeignKey("events.SalePhase", on_delete=models.PROTECT, related_name="orders")
    hold = models.OneToOneField(Hold, on_delete=models.PROTECT, related_name="order")
    buyer_key = models.CharField(max_length=200)
    channel = models.CharField(max_length=80)
    partner = models.ForeignKey(
        "api.Partner", null=True, blank=True, on_delete=models.PROTECT, related_name="orders"
    )
    buyer_ref = models.CharField(max_length=200, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="orders",
    )
    email = models.EmailField()
    name = models.CharField(max_length=200)
    phone = models.CharField(max_length=20, blank=True)
    # The language the buyer ordered in: the ticket e-mail is written in it.
    language = models.CharField(
        max_length=8, choices=settings.LANGUAGES, default=settings.LANGUAGE_CODE
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING_PAYMENT)
    quantity = models.PositiveIntegerField()
    total = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3)
    # The ticket type the buyer chose per seat, when the event sells types:
    # {"<EventSeat id>": {"type": <TicketType id>, "price": "1500.00"}}. The
    # tickets issued on payment take their type and price from it; `total`
    # is their sum. Empty for events without types (the hold's tier prices).
    seat_types = models.JSONField(default=dict, blank=True)
    expires_at = models.DateTimeField()
    created_at = models.DateTimeField(default=timezone.now)
    paid_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["email"], name="order_email_idx"),
            models.Index(fields=["phone"], name="order_phone_idx"),
            # Per-buyer limit: this buyer's paid tickets for an event.
            models.Index(fields=["event", "buyer_key", "status"], name="order_buyer_idx"),
            # The on-sale console and the post-sale report: orders made and paid per minute.
            models.Index(fields=["event", "created_at"], name="order_event_created_idx"),
            models.Index(fields=["event", "paid_at"], name="order_event_paid_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(total__gte=0), name="order_total_not_negative"),
        ]

    def __str__(self) -> str:
        return self.code

    def get_absolute_url(self) -> str:
        return f"/orders/{self.code}/?t={self.access_token}"


class Ticket(models.Model):
    class Status(models.TextChoices):
        VALID = "valid", _("Valid")
        VOID = "void", _("Void")
        USED = "used", _("Used")

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="tickets")
    event = models.ForeignKey("events.Event", on_delete=models.PROTECT, related_name="tickets")
    event_seat = models.ForeignKey(
        "events.EventSeat", null=True, blank=True, on_delete=models.PROTECT, related_name="tickets"
    )
    standing_area = models.ForeignKey(
        "events.StandingArea",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="tickets",
    )
    tier = models.ForeignKey("events.PriceTier", on_delete=models.PROTECT, related_name="+")
    # Who the ticket is for (adult, child, ...) when the event sells ticket types.
    ticket_type = models.ForeignKey(
        "events.TicketType", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    price = models.DecimalField(max_digits=12, decimal_places=2)
    code = models.CharField(max_length=32, unique=True)  # 128 random bits, url-safe
    totp_secret = models.CharField(max_length=64, blank=True)  # rotating QR, optional
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.VALID)
    used_at = models.DateTimeField(null=True, blank=True)
    # The gate (a name staff type on the gate page) that let the ticket in.
    used_gate = models.CharField(max_length=40, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("ticket")
        verbose_name_plural = _("tickets")
        ordering = ["id"]
        # What the gate page checks (a "gate" group of staff gets scan_ticket;
        # supervisors also override_checkin). Superusers have both.
        permissions = [
            ("scan_ticket", "Can scan tickets at the gate"),
            ("override_checkin", "Can let a refused ticket in at the gate (supervisor)"),
        ]
        indexes = [
            # The on-sale console and the post-sale report: tickets issued per minute.
            models.Index(fields=["event", "created_at"], name="ticket_event_created_idx"),
            # The gate page's per-gate counts: used tickets of an event by gate.
            models.Index(
                fields=["event", "used_gate"],
                condition=Q(status="used"),
                name="ticket_used_gate_idx",
            ),
        ]
        constraints = [
            # Invariant 1: a seat is in at most one valid ticket.
            models.UniqueConstraint(
                fields=["event_seat"],
                condition=Q(status="valid") & Q(event_seat__isnull=False),
                name="ticket_one_valid_per_seat",
            ),
            models.CheckConstraint(
                condition=Q(event_seat__isnull=False, standing_area__isnull=True)
                | Q(event_seat__isnull=True, standing_area__isnull=False),
                name="ticket_seat_xor_standing",
            ),
        ]

    def __str__(self) -> str:
        # What staff look for: where it admits to ("Lower 1, row 3, seat 12"),
        # the one description of a ticket's place (orders/_ticket_place.txt).
        return self.place

    @property
    def place(self) -> str:
        """The ticket's place as mail and My tickets say it (orders/_ticket_place.txt)."""
        return render_to_string("orders/_ticket_place.txt", {"ticket": self}).strip()
