"""The cinema side: cities, cinemas and their halls, films, and showings.

A hall is a Venue (its seat layout, generated once and reused by every
showing); a film is a Production; a showing is an Event of that production in
that hall, with its own tiers (one per seat kind), ticket types, phase and
stock. So holds, orders, payments, tickets, refunds, the waiting room and the
gate work on a showing exactly as on the stadium concert. The rows here only
add what a schedule needs to find and describe them.
"""

from __future__ import annotations

from datetime import timedelta

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from events.models import Event, NamedInLanguages, Production, Venue, in_language

_KK_HELP = _("As buyers read it on the Kazakh pages; empty: the Russian one is shown.")
_EN_HELP = _("As buyers read it on the English pages; empty: the Russian one is shown.")


class City(NamedInLanguages):
    name = models.CharField(_("name"), max_length=100, help_text=_("In Russian."))
    name_kk = models.CharField(_("name (Kazakh)"), max_length=100, blank=True, help_text=_KK_HELP)
    name_en = models.CharField(_("name (English)"), max_length=100, blank=True, help_text=_EN_HELP)
    slug = models.SlugField(unique=True, max_length=60)
    time_zone = models.CharField(max_length=64, default="Asia/Almaty")
    sort_order = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("city")
        verbose_name_plural = _("cities")
        ordering = ["sort_order", "name"]

    def __str__(self) -> str:
        return self.localized_name


class Cinema(NamedInLanguages):
    city = models.ForeignKey(City, on_delete=models.PROTECT, related_name="cinemas")
    name = models.CharField(_("name"), max_length=200, help_text=_("In Russian."))
    name_kk = models.CharField(_("name (Kazakh)"), max_length=200, blank=True, help_text=_KK_HELP)
    name_en = models.CharField(_("name (English)"), max_length=200, blank=True, help_text=_EN_HELP)
    slug = models.SlugField(unique=True, max_length=60)
    address = models.CharField(_("address"), max_length=300, blank=True, help_text=_("In Russian."))
    address_kk = models.CharField(
        _("address (Kazakh)"), max_length=300, blank=True, help_text=_KK_HELP
    )
    address_en = models.CharField(
        _("address (English)"), max_length=300, blank=True, help_text=_EN_HELP
    )
    map_url = models.URLField(_("map link"), blank=True)
    # The cinema's own system, importing its schedule with an API key of this
    # partner (scope `schedule`); staff import any cinema's schedule.
    schedule_partner = models.ForeignKey(
        "api.Partner",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("schedule imported by"),
        help_text=_("The partner whose API keys (scope schedule) may import this schedule."),
    )
    time_zone = models.CharField(max_length=64, default="Asia/Almaty")
    # The cinema's rules, copied onto each showing it creates (Event fields),
    # so the order and refund services read them off the event.
    hold_minutes = models.PositiveSmallIntegerField(
        _("hold minutes"),
        default=15,
        validators=[MinValueValidator(10), MaxValueValidator(15)],
        help_text=_("How long chosen seats are kept for the buyer (10 to 15 minutes)."),
    )
    refund_cutoff_minutes = models.PositiveIntegerField(
        _("buyer refunds until (minutes before the start)"),
        default=30,
        help_text=_("Buyers refund their own tickets in their account until this many minutes "
                    "before the start."),
    )  # fmt: skip
    sales_close_minutes = models.PositiveIntegerField(
        _("sales close (minutes after the start)"),
        default=0,
        validators=[MaxValueValidator(60)],
        help_text=_("0: sales close at the start."),
    )

    class Meta:
        verbose_name = _("cinema")
        verbose_name_plural = _("cinemas")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.localized_name

    @property
    def address_line(self) -> str:
        return in_language(self, "address")


class Hall(NamedInLanguages):
    """A screen of a cinema; its seats are the layout of `venue`."""

    cinema = models.ForeignKey(Cinema, on_delete=models.PROTECT, related_name="halls")
    venue = models.OneToOneField(Venue, on_delete=models.PROTECT, related_name="hall")
    name = models.CharField(_("name"), max_length=100, help_text=_("In Russian."))
    name_kk = models.CharField(_("name (Kazakh)"), max_length=100, blank=True, help_text=_KK_HELP)
    name_en = models.CharField(_("name (English)"), max_length=100, blank=True, help_text=_EN_HELP)
    # How the schedule CSV and the cinema's own system name the hall ("1", "IMAX").
    code = models.SlugField(max_length=30)
    # Minutes between two showings for cleaning and the audience changing over.
    turnaround_minutes = models.PositiveSmallIntegerField(default=10)
    sort_order = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("hall")
        verbose_name_plural = _("halls")
        ordering = ["cinema", "sort_order", "code"]
        constraints = [
            models.UniqueConstraint(fields=["cinema", "code"], name="hall_code_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.cinema} / {self.localized_name}"


class Genre(NamedInLanguages):
    slug = models.SlugField(unique=True, max_length=40)
    name = models.CharField(_("name"), max_length=60, help_text=_("In Russian."))
    name_kk = models.CharField(_("name (Kazakh)"), max_length=60, blank=True, help_text=_KK_HELP)
    name_en = models.CharField(_("name (English)"), max_length=60, blank=True, help_text=_EN_HELP)

    class Meta:
        verbose_name = _("genre")
        verbose_name_plural = _("genres")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.localized_name


class Film(models.Model):
    class AgeRating(models.TextChoices):
        ALL = "0+", "0+"
        SIX = "6+", "6+"
        TWELVE = "12+", "12+"
        SIXTEEN = "16+", "16+"
        EIGHTEEN = "18+", "18+"

    production = models.OneToOneField(Production, on_delete=models.PROTECT, related_name="film")
    slug = models.SlugField(unique=True, max_length=80)
    title = models.CharField(_("title"), max_length=200, help_text=_("In Russian."))
    title_kk = models.CharField(_("title (Kazakh)"), max_length=200, blank=True, help_text=_KK_HELP)
    title_en = models.CharField(
        _("title (English)"), max_length=200, blank=True, help_text=_EN_HELP
    )
    synopsis = models.TextField(_("synopsis"), blank=True, help_text=_("In Russian."))
    synopsis_kk = models.TextField(_("synopsis (Kazakh)"), blank=True, help_text=_KK_HELP)
    synopsis_en = models.TextField(_("synopsis (English)"), blank=True, help_text=_EN_HELP)
    duration_minutes = models.PositiveSmallIntegerField(
        _("duration (minutes)"), validators=[MinValueValidator(1), MaxValueValidator(600)]
    )
    age_rating = models.CharField(_("age rating"), max_length=3, choices=AgeRating.choices)
    genres = models.ManyToManyField(Genre, blank=True, related_name="films")
    poster = models.ImageField(_("poster"), upload_to="films/", blank=True)
    trailer_url = models.URLField(_("trailer link"), blank=True)
    release_date = models.DateField(_("release date"), null=True, blank=True)

    class Meta:
        verbose_name = _("film")
        verbose_name_plural = _("films")
        ordering = ["-release_date", "title"]
        constraints = [
            models.CheckConstraint(
                condition=Q(duration_minutes__gte=1), name="film_duration_positive"
            ),
        ]

    def __str__(self) -> str:
        return self.localized_title

    def get_absolute_url(self) -> str:
        return f"/films/{self.slug}/"

    @property
    def localized_title(self) -> str:
        return in_language(self, "title")

    @property
    def localized_synopsis(self) -> str:
        return in_language(self, "synopsis")


class Showing(models.Model):
    """One screening: the Event (stock, orders, tickets) plus what the schedule shows.

    city, cinema and the times are copied from the hall and the event so the
    city schedule is one indexed range scan, whatever the number of showings.
    """

    class Format(models.TextChoices):
        TWO_D = "2d", "2D"
        THREE_D = "3d", "3D"
        IMAX = "imax", "IMAX"

    class Language(models.TextChoices):
        RU = "ru", _("Russian")
        KK = "kk", _("Kazakh")
        EN = "en", _("English")
        ORIGINAL = "original", _("Original")

    event = models.OneToOneField(
        Event, on_delete=models.CASCADE, primary_key=True, related_name="showing"
    )
    film = models.ForeignKey(Film, on_delete=models.PROTECT, related_name="showings")
    hall = models.ForeignKey(Hall, on_delete=models.PROTECT, related_name="showings")
    cinema = models.ForeignKey(Cinema, on_delete=models.PROTECT, related_name="showings")
    city = models.ForeignKey(City, on_delete=models.PROTECT, related_name="showings")
    starts_at = models.DateTimeField(_("starts at"))
    # Start + the film's duration: when the hall is free again (before turnaround).
    ends_at = models.DateTimeField(_("ends at"))
    format = models.CharField(_("format"), max_length=4, choices=Format.choices, default="2d")
    language = models.CharField(
        _("language"), max_length=8, choices=Language.choices, default=Language.RU
    )
    # Subtitles' language, empty for none.
    subtitles = models.CharField(
        _("subtitles"), max_length=8, choices=Language.choices, blank=True, default=""
    )
    cancelled = models.BooleanField(default=False)

    class Meta:
        verbose_name = _("showing")
        verbose_name_plural = _("showings")
        ordering = ["starts_at"]
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=models.F("starts_at")),
                                   name="showing_ends_after_start"),
        ]  # fmt: skip
        indexes = [
            # The city schedule: one range scan per city and day.
            models.Index(fields=["city", "starts_at"], name="showing_city_start_idx"),
            # Overlap checks and the hall's day.
            models.Index(fields=["hall", "starts_at"], name="showing_hall_start_idx"),
            models.Index(fields=["film", "starts_at"], name="showing_film_start_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.film} — {self.hall}, {self.starts_at:%Y-%m-%d %H:%M}"

    @staticmethod
    def end_of(starts_at, film: Film):
        return starts_at + timedelta(minutes=film.duration_minutes)
