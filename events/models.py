from __future__ import annotations

from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from ticketing.money import money_format

# Names staff type for buyers are kept in each site language: the plain field
# (`name`) is the Russian one, the site's default; `name_kk` and `name_en`
# may stay empty, and then the Russian name is shown. Explicit columns rather
# than django-modeltranslation: the hot paths (holds) read `name` in raw SQL,
# and the API keeps `name` as it was (adding `names` with all three).
TRANSLATED_LANGUAGES = ("kk", "en")
_KK_HELP = _("As buyers read it on the Kazakh pages; empty: the Russian one is shown.")
_EN_HELP = _("As buyers read it on the English pages; empty: the Russian one is shown.")


def in_language(obj: models.Model, field: str, language: str | None = None) -> str:
    """`obj.<field>` in `language` (default: the active one), else the Russian base value."""
    lang = (language or get_language() or "").split("-")[0]
    if lang in TRANSLATED_LANGUAGES:
        value = getattr(obj, f"{field}_{lang}", "")
        if value:
            return value
    return getattr(obj, field)


def all_languages(obj: models.Model, field: str) -> dict[str, str]:
    """{"ru": …, "kk": …, "en": …} with the Russian value filling any gap (the API's `names`)."""
    return {"ru": getattr(obj, field)} | {
        lang: in_language(obj, field, lang) for lang in TRANSLATED_LANGUAGES
    }


class NamedInLanguages(models.Model):
    """A model whose `name` (Russian) has `name_kk`/`name_en` beside it."""

    class Meta:
        abstract = True

    @property
    def localized_name(self) -> str:
        return in_language(self, "name")

    @property
    def names(self) -> dict[str, str]:
        return all_languages(self, "name")


class Venue(NamedInLanguages):
    name = models.CharField(_("name"), max_length=200, help_text=_("In Russian."))
    name_kk = models.CharField(_("name (Kazakh)"), max_length=200, blank=True, help_text=_KK_HELP)
    name_en = models.CharField(_("name (English)"), max_length=200, blank=True, help_text=_EN_HELP)
    slug = models.SlugField(unique=True)
    city = models.CharField(_("city"), max_length=100, blank=True, help_text=_("In Russian."))
    city_kk = models.CharField(_("city (Kazakh)"), max_length=100, blank=True, help_text=_KK_HELP)
    city_en = models.CharField(_("city (English)"), max_length=100, blank=True, help_text=_EN_HELP)
    address = models.CharField(_("address"), max_length=300, blank=True, help_text=_("In Russian."))
    address_kk = models.CharField(
        _("address (Kazakh)"), max_length=300, blank=True, help_text=_KK_HELP
    )
    address_en = models.CharField(
        _("address (English)"), max_length=300, blank=True, help_text=_EN_HELP
    )
    time_zone = models.CharField(max_length=64, default="Asia/Almaty")
    # The compact layout spec the sections and seats were generated from.
    layout_spec = models.JSONField(default=dict, blank=True)
    # Map canvas size for the SVG (the stage is drawn from layout_spec).
    map_width = models.PositiveIntegerField(default=1000)
    map_height = models.PositiveIntegerField(default=1000)

    class Meta:
        verbose_name = _("venue")
        verbose_name_plural = _("venues")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.localized_name

    @property
    def address_line(self) -> str:
        """Name, address, city in the active language: where to go, on one line."""
        parts = (in_language(self, f) for f in ("name", "address", "city"))
        return ", ".join(part for part in parts if part)


class Section(NamedInLanguages):
    class Kind(models.TextChoices):
        SEATED = "seated", _("Seated")
        STANDING = "standing", _("Standing")

    venue = models.ForeignKey(Venue, on_delete=models.CASCADE, related_name="sections")
    code = models.CharField(max_length=20)
    name = models.CharField(_("name"), max_length=100, help_text=_("In Russian."))
    name_kk = models.CharField(_("name (Kazakh)"), max_length=100, blank=True, help_text=_KK_HELP)
    name_en = models.CharField(_("name (English)"), max_length=100, blank=True, help_text=_EN_HELP)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.SEATED)
    # Standing sections only: how many people fit.
    capacity = models.PositiveIntegerField(null=True, blank=True)
    # SVG geometry on the venue map: {"points": [[x, y], ...], "label": [x, y]}.
    geometry = models.JSONField(default=dict, blank=True)
    sort_order = models.PositiveIntegerField(default=0)
    # The layout spec's default tier key: event inventory matches it to PriceTier.key.
    tier_key = models.SlugField(max_length=30, blank=True)

    class Meta:
        verbose_name = _("section")
        verbose_name_plural = _("sections")
        ordering = ["sort_order", "code"]
        constraints = [
            models.UniqueConstraint(fields=["venue", "code"], name="section_code_unique"),
            models.CheckConstraint(
                condition=Q(kind="seated") | Q(capacity__isnull=False),
                name="section_standing_has_capacity",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.venue} / {self.localized_name}"


class Seat(models.Model):
    class Kind(models.TextChoices):
        STANDARD = "standard", _("Standard")
        VIP = "vip", _("VIP / recliner")
        # A wheelchair space is sold with its companion seat (`pair`).
        WHEELCHAIR = "wheelchair", _("Wheelchair space")
        COMPANION = "companion", _("Companion seat")
        # A love seat is one sofa for two: its two halves are each other's `pair`
        # and are only ever sold together.
        LOVE = "love", _("Love seat")

    section = models.ForeignKey(Section, on_delete=models.CASCADE, related_name="seats")
    row_label = models.CharField(max_length=10)
    # Rows and seats are numbered in walking order: seats n and n+1 of one row
    # are neighbours, which is what "together" means for best-available.
    row_index = models.PositiveIntegerField()
    number = models.PositiveIntegerField()
    x = models.FloatField()
    y = models.FloatField()
    # Lower is better: distance to the stage centre, computed by the generator.
    quality_rank = models.PositiveIntegerField(default=0)
    # db_default: the layout generator COPYs seats without naming the kind.
    kind = models.CharField(max_length=12, choices=Kind.choices, db_default=Kind.STANDARD)
    # The seat this one is sold with: a love seat's other half, a wheelchair
    # space's companion seat (and the companion's wheelchair space).
    pair = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("seat")
        verbose_name_plural = _("seats")
        ordering = ["section_id", "row_index", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["section", "row_index", "number"], name="seat_position_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.section.code} {self.row_label}-{self.number}"


class Production(NamedInLanguages):
    """What a series of events shows: a film with its many showings, a tour.

    Like pretix's event series: each showing stays a whole Event (its own
    tiers, phases, stock, orders), so every flow works on it unchanged; the
    production only groups them (a film page lists its showings).
    """

    class Kind(models.TextChoices):
        FILM = "film", _("Film")
        SHOW = "show", _("Show")

    name = models.CharField(_("name"), max_length=200, help_text=_("In Russian."))
    name_kk = models.CharField(_("name (Kazakh)"), max_length=200, blank=True, help_text=_KK_HELP)
    name_en = models.CharField(_("name (English)"), max_length=200, blank=True, help_text=_EN_HELP)
    slug = models.SlugField(unique=True, max_length=80)
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.SHOW)

    class Meta:
        verbose_name = _("production")
        verbose_name_plural = _("productions")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.localized_name


class Event(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        ON_SALE = "on_sale", _("On sale")
        SOLD_OUT = "sold_out", _("Sold out")
        CANCELLED = "cancelled", _("Cancelled")
        FINISHED = "finished", _("Finished")

    venue = models.ForeignKey(Venue, on_delete=models.PROTECT, related_name="events")
    title = models.CharField(_("title"), max_length=200)
    slug = models.SlugField(unique=True)
    # The title is the show's own name, kept as the organiser writes it in
    # every language; the description is prose, so it has a version per language.
    description = models.TextField(_("description"), blank=True, help_text=_("In Russian."))
    description_kk = models.TextField(_("description (Kazakh)"), blank=True, help_text=_KK_HELP)
    description_en = models.TextField(_("description (English)"), blank=True, help_text=_EN_HELP)
    poster = models.ImageField(upload_to="posters/", blank=True)
    starts_at = models.DateTimeField(_("starts at"))
    doors_at = models.DateTimeField(_("doors open at"), null=True, blank=True)
    time_zone = models.CharField(max_length=64, default="Asia/Almaty")
    currency = models.CharField(max_length=3, default="KZT")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    # A showing of a film (or a date of a tour) points at its production.
    production = models.ForeignKey(
        Production, on_delete=models.PROTECT, null=True, blank=True, related_name="events"
    )
    # Rules a cinema sets per showing; empty: the site's defaults.
    hold_minutes = models.PositiveSmallIntegerField(
        _("hold minutes"),
        null=True,
        blank=True,
        help_text=_("How long chosen seats are kept for the buyer; empty: the site's default."),
    )
    refund_cutoff_minutes = models.PositiveIntegerField(
        _("buyer refunds until (minutes before the start)"),
        null=True,
        blank=True,
        help_text=_("Buyers may refund their own paid orders until this many minutes before "
                    "the start; empty: only staff refund."),
    )  # fmt: skip

    class Meta:
        verbose_name = _("event")
        verbose_name_plural = _("events")
        ordering = ["starts_at"]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return f"/e/{self.slug}/"

    @property
    def localized_description(self) -> str:
        return in_language(self, "description")


class PriceTier(NamedInLanguages):
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="tiers")
    name = models.CharField(_("name"), max_length=100, help_text=_("In Russian."))
    name_kk = models.CharField(_("name (Kazakh)"), max_length=100, blank=True, help_text=_KK_HELP)
    name_en = models.CharField(_("name (English)"), max_length=100, blank=True, help_text=_EN_HELP)
    price = models.DecimalField(max_digits=12, decimal_places=2)
    colour = models.CharField(max_length=7, default="#888888")
    sort_order = models.PositiveIntegerField(default=0)
    # Matches Section.tier_key when the event's inventory is generated.
    key = models.SlugField(max_length=30, blank=True)

    class Meta:
        verbose_name = _("price tier")
        verbose_name_plural = _("price tiers")
        ordering = ["sort_order", "-price"]
        constraints = [
            models.CheckConstraint(condition=Q(price__gte=0), name="tier_price_not_negative"),
            models.UniqueConstraint(
                fields=["event", "key"], condition=~Q(key=""), name="tier_key_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.localized_name} ({money_format(self.price, self.event.currency)})"


class TicketType(NamedInLanguages):
    """Who the ticket is for (adult, child, student, pensioner), chosen per seat
    at checkout. Its price per tier is TicketTypePrice; a tier without one
    sells this type at the tier's own price."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="ticket_types")
    key = models.SlugField(max_length=30)
    name = models.CharField(_("name"), max_length=100, help_text=_("In Russian."))
    name_kk = models.CharField(_("name (Kazakh)"), max_length=100, blank=True, help_text=_KK_HELP)
    name_en = models.CharField(_("name (English)"), max_length=100, blank=True, help_text=_EN_HELP)
    # Printed on the ticket and checked at the door (a student card, a pension card).
    requires_document = models.BooleanField(_("document shown at the door"), default=False)
    sort_order = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("ticket type")
        verbose_name_plural = _("ticket types")
        ordering = ["sort_order", "key"]
        constraints = [
            models.UniqueConstraint(fields=["event", "key"], name="tickettype_key_unique"),
        ]

    def __str__(self) -> str:
        return self.localized_name


class TicketTypePrice(models.Model):
    ticket_type = models.ForeignKey(TicketType, on_delete=models.CASCADE, related_name="prices")
    tier = models.ForeignKey(PriceTier, on_delete=models.CASCADE, related_name="type_prices")
    # Empty: this type is not sold in this tier (no child tickets on a love seat).
    price = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_("Empty: this ticket type is not sold for seats of this tier."),
    )

    class Meta:
        verbose_name = _("ticket type price")
        verbose_name_plural = _("ticket type prices")
        constraints = [
            models.UniqueConstraint(fields=["ticket_type", "tier"], name="tickettypeprice_unique"),
            models.CheckConstraint(condition=Q(price__gte=0), name="tickettypeprice_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.ticket_type} / {self.tier.localized_name}: {self.price}"


class EventSeat(models.Model):
    """One seat of one event: the unit of seated stock.

    Status moves only by conditional UPDATE with a row-count check (orders
    services). A row with status 'held' and `held_until` in the past counts as
    available to the next such UPDATE: expiry needs no worker.
    """

    class Status(models.TextChoices):
        AVAILABLE = "available", _("Available")
        HELD = "held", _("Held")
        SOLD = "sold", _("Sold")
        BLOCKED = "blocked", _("Blocked")

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="seats")
    seat = models.ForeignKey(Seat, on_delete=models.PROTECT, related_name="event_seats")
    # Denormalised from seat for the grouped availability query and best-available picks.
    section = models.ForeignKey(Section, on_delete=models.PROTECT, related_name="+")
    # RESTRICT, not PROTECT: a tier in use cannot be deleted on its own, but
    # deleting the whole event (which cascades to its seats) still works.
    tier = models.ForeignKey(PriceTier, on_delete=models.RESTRICT, related_name="seats")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.AVAILABLE)
    held_until = models.DateTimeField(null=True, blank=True)
    # The seat's quality_rank when the event's stock was made (events.services
    # copies it): best-available and allocations read the best free seats in
    # this order straight from eventseat_best_idx, instead of joining and
    # sorting every free seat of the event (36 ms of PostgreSQL a pick at
    # 21,600 seats). A venue re-ranked later keeps its events' order.
    quality_rank = models.PositiveIntegerField(default=0)
    # Plain ids, not foreign keys: orders owns holds and orders, and events
    # must not depend on it (the orders app joins the other way).
    hold_id = models.UUIDField(null=True, blank=True)
    order_id = models.BigIntegerField(null=True, blank=True)
    # Set while the seat is part of a channel's or phase's allocation (kept
    # after the release, so the allocation's sales stay countable): only a
    # buyer the allocation is open to may take it until it is released
    # (events/stock.py, USABLE). RESTRICT: an allocation is released, never
    # deleted on its own; deleting the event cascades to both.
    allocation = models.ForeignKey(
        "Allocation",
        on_delete=models.RESTRICT,
        null=True,
        blank=True,
        related_name="seats",
        db_index=False,
    )

    class Meta:
        verbose_name = _("event seat")
        verbose_name_plural = _("event seats")
        constraints = [
            models.UniqueConstraint(fields=["event", "seat"], name="eventseat_unique"),
            models.CheckConstraint(
                condition=~Q(status="held") | Q(held_until__isnull=False, hold_id__isnull=False),
                name="eventseat_held_has_hold",
            ),
        ]
        indexes = [
            # Availability per section/tier (grouped count) and best-available
            # picks ordered by quality within a tier or section.
            models.Index(fields=["event", "section", "status"], name="eventseat_avail_idx"),
            models.Index(fields=["event", "tier", "status"], name="eventseat_tier_idx"),
            # The hold sweeper's "expired holds" scan.
            models.Index(
                fields=["held_until"], name="eventseat_held_until_idx", condition=Q(status="held")
            ),
            models.Index(fields=["hold_id"], name="eventseat_hold_idx"),
            # Best free seats first (best-available, allocations): only seats
            # that may be free (a lapsed hold's included), so sold ones leave it.
            models.Index(
                fields=["event", "quality_rank", "id"],
                name="eventseat_best_idx",
                condition=Q(status__in=["available", "held"]),
            ),
            # An allocation's used/held/left counts and the sale console; the
            # few allocated seats only (most seats have none).
            models.Index(
                fields=["allocation", "status"],
                name="eventseat_allocation_idx",
                condition=Q(allocation__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        # "Lower 1, row 3, seat 12 (sold)": what staff see in admin, not ids.
        return _("%(section)s, row %(row)s, seat %(number)s (%(status)s)") % {
            "section": self.section.localized_name,
            "row": self.seat.row_label,
            "number": self.seat.number,
            "status": self.get_status_display(),
        }


class StandingArea(models.Model):
    """Standing stock of one section for one event: counters, not rows."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="standing_areas")
    section = models.ForeignKey(Section, on_delete=models.PROTECT, related_name="+")
    tier = models.ForeignKey(PriceTier, on_delete=models.RESTRICT, related_name="standing_areas")
    capacity = models.PositiveIntegerField()
    held = models.PositiveIntegerField(default=0)
    sold = models.PositiveIntegerField(default=0)
    # Places set aside for its allocations not released yet, and not held or
    # sold by them yet (the sum of their quantity - held - sold): the
    # general sale may take only capacity - held - sold - reserved.
    reserved = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("standing area")
        verbose_name_plural = _("standing areas")
        constraints = [
            models.UniqueConstraint(fields=["event", "section"], name="standing_unique"),
            # Invariant 1 at the database level: never over capacity.
            models.CheckConstraint(
                condition=Q(held__gte=0)
                & Q(sold__gte=0)
                & Q(capacity__gte=F("held") + F("sold") + F("reserved")),
                name="standing_within_capacity",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.section.localized_name}: {self.sold}+{self.held}/{self.capacity}"

    @property
    def available(self) -> int:
        """Free for the general sale (allocations' reserved places left out)."""
        return self.capacity - self.held - self.sold - self.reserved


class SalePhase(models.Model):
    """A window in which some channels may buy, under a card rule and a per-buyer limit."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="phases")
    name = models.CharField(_("name"), max_length=100)
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))
    # Channel names: "web", "app", "partner:<slug>", or "partner:*" for any partner.
    channels = models.JSONField(default=list)
    # Card rule: allowed brands ("visa", "mastercard", ...) and BIN prefixes; empty = any.
    card_brands = models.JSONField(default=list, blank=True)
    card_bin_prefixes = models.JSONField(default=list, blank=True)
    # Optional access codes; when present one of them is required to buy.
    access_codes = models.JSONField(default=list, blank=True)
    per_buyer_limit = models.PositiveIntegerField(default=6)
    requires_waiting_room = models.BooleanField(default=False)

    class Meta:
        verbose_name = _("sale phase")
        verbose_name_plural = _("sale phases")
        ordering = ["starts_at"]
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="phase_window"),
            models.CheckConstraint(
                condition=Q(per_buyer_limit__gte=1), name="phase_limit_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event}: {self.name}"

    def is_open(self, at=None) -> bool:
        at = at or timezone.now()
        return self.starts_at <= at < self.ends_at

    def allows_channel(self, channel: str) -> bool:
        if channel in self.channels:
            return True
        return channel.startswith("partner:") and "partner:*" in self.channels


class Allocation(models.Model):
    """Stock of one section reserved for one channel or one sale phase.

    Seated: the seats carry the allocation's id (EventSeat.allocation);
    until the allocation is released (released_at set, or release_at passed:
    exact without a worker, like hold expiry) only buyers of that channel,
    or buying in that phase, may take them (events/stock.py, USABLE).
    Standing: `quantity` places of the area, counted in `held`/`sold` here
    and in the area's `reserved` while not taken (events/stock.py,
    standing_*); released, what is left leaves `reserved`. Its buyers may
    take general stock as well. A seat is one row and a standing place sits
    in exactly one of the area's counters, so none is ever counted twice.
    """

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="allocations")
    name = models.CharField(_("name"), max_length=100)
    # Exactly one of channel and phase (constraint allocation_one_scope).
    channel = models.CharField(
        _("channel"),
        max_length=100,
        blank=True,
        help_text=_("“partner:<slug>”, “partner:*” (any partner), “app” or “web”."),
    )
    phase = models.ForeignKey(
        SalePhase,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="allocations",
        verbose_name=_("sale phase"),
    )
    section = models.ForeignKey(
        Section, on_delete=models.PROTECT, related_name="+", verbose_name=_("section")
    )
    tier = models.ForeignKey(
        PriceTier,
        on_delete=models.RESTRICT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("price tier"),
        help_text=_("Empty: any tier of the section."),
    )
    # How many seats (all of them carry the id) or standing places were reserved.
    quantity = models.PositiveIntegerField(_("places"))
    # Standing allocations only (seats are counted from their rows).
    held = models.PositiveIntegerField(default=0, editable=False)
    sold = models.PositiveIntegerField(default=0, editable=False)
    release_at = models.DateTimeField(
        _("release at"),
        null=True,
        blank=True,
        help_text=_("What is left goes to the general sale then; empty: only by hand."),
    )
    released_at = models.DateTimeField(_("released at"), null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("allocation")
        verbose_name_plural = _("allocations")
        ordering = ["event", "created_at"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(channel="") & Q(phase__isnull=False))
                | (~Q(channel="") & Q(phase__isnull=True)),
                name="allocation_one_scope",
            ),
            models.CheckConstraint(condition=Q(quantity__gte=1), name="allocation_quantity"),
            # Invariant 1 for standing allocations: never more than reserved.
            models.CheckConstraint(
                condition=Q(quantity__gte=F("held") + F("sold")),
                name="allocation_within_quantity",
            ),
        ]
        indexes = [
            # The beat task's "due, not yet released" scan.
            models.Index(
                fields=["release_at"],
                name="allocation_due_idx",
                condition=Q(released_at__isnull=True, release_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event}: {self.name}"

    @property
    def scope(self) -> str:
        """Who may buy it: the channel, or the phase's name."""
        return self.channel or str(self.phase.name if self.phase else "")

    def is_released(self, at=None) -> bool:
        """Released by hand or by the task, or past release_at (the take treats it so)."""
        at = at or timezone.now()
        return self.released_at is not None or (
            self.release_at is not None and self.release_at <= at
        )

    def open_to(self, channel: str, phase: SalePhase | None) -> bool:
        """May a buyer of `channel`, buying in `phase`, take its seats (before release)?
        The same test as events/stock.py's USABLE, for reads."""
        if self.phase_id is not None:
            return phase is not None and phase.pk == self.phase_id
        if self.channel == channel:
            return True
        return self.channel == "partner:*" and channel.startswith("partner:")
