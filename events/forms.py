from __future__ import annotations

import json
import re
from zoneinfo import ZoneInfo

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from api.models import Partner
from events.exceptions import AllocationInvalid
from events.models import Allocation, Event, PriceTier, SalePhase, Section
from events.services import allocation_create

MAX_SPEC_BYTES = 1_000_000


class VenueSpecForm(forms.Form):
    """A layout spec (events/layouts/README.md) uploaded as a file or pasted."""

    spec_file = forms.FileField(label=_("Spec file (JSON)"), required=False)
    spec_text = forms.CharField(
        label=_("…or paste the spec"), required=False, widget=forms.Textarea(attrs={"rows": 16})
    )

    def clean(self):
        data = super().clean()
        upload, text = data.get("spec_file"), data.get("spec_text")
        if upload:
            if upload.size > MAX_SPEC_BYTES:
                raise forms.ValidationError(_("The file is too large (1 MB at most)."))
            text = upload.read().decode("utf-8", errors="replace")
        if not text:
            raise forms.ValidationError(_("Upload a spec file or paste one."))
        try:
            data["spec"] = json.loads(text)
        except ValueError as exc:
            message = _("Not valid JSON: %(error)s")
            raise forms.ValidationError(message, params={"error": exc}) from exc
        return data


# Card brands the sandbox (and the acquirers it stands for) report; the card
# rule compares them lowercased (events/cards.py).
CARD_BRANDS = [
    ("visa", "Visa"),
    ("mastercard", "Mastercard"),
    ("amex", "American Express"),
    ("unionpay", "UnionPay"),
    ("jcb", "JCB"),
    ("mir", "Mir"),
    ("discover", "Discover"),
    ("maestro", "Maestro"),
]
_BIN = re.compile(r"^\d{1,8}$")
_CODE = re.compile(r"^[\w-]{1,64}$")


def channel_choices() -> list[tuple[str, str]]:
    """The channels a phase may allow: the site, the app, any partner, each partner."""
    return [
        ("web", _("Website")),
        ("app", _("Mobile app")),
        ("partner:*", _("Every partner (API)")),
        *((p.channel, _("Partner: %(name)s") % {"name": p.name}) for p in Partner.objects.all()),
    ]


class ListField(forms.CharField):
    """A list typed as text: one item per line or comma-separated."""

    def __init__(self, *, pattern: re.Pattern, bad: str, **kwargs) -> None:
        self.pattern, self.bad = pattern, bad
        kwargs.setdefault("widget", forms.Textarea(attrs={"rows": 2, "cols": 40}))
        super().__init__(required=False, **kwargs)

    def prepare_value(self, value):
        if isinstance(value, list | tuple):
            return ", ".join(str(v) for v in value)
        return value

    def clean(self, value) -> list[str]:
        items = [item for item in re.split(r"[\s,;]+", super().clean(value) or "") if item]
        wrong = [item for item in items if not self.pattern.match(item)]
        if wrong:
            raise forms.ValidationError(self.bad, params={"items": ", ".join(wrong)})
        return list(dict.fromkeys(items))


class SalePhaseForm(forms.ModelForm):
    """A sale phase with proper fields instead of JSON boxes."""

    channels = forms.MultipleChoiceField(
        label=_("channels"),
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Who may buy in this phase: the website, the app, partners through the API."),
    )
    card_brands = forms.MultipleChoiceField(
        label=_("card brands"),
        choices=CARD_BRANDS,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Only cards of these brands are accepted; none ticked: any brand."),
    )
    card_bin_prefixes = ListField(
        label=_("card BIN prefixes"),
        pattern=_BIN,
        bad=_("A BIN prefix is 1 to 8 digits: %(items)s"),
        help_text=_(
            "The first digits of the cards accepted (a bank's presale: 440043), separated "
            "by commas or new lines; empty: any card."
        ),
    )
    access_codes = ListField(
        label=_("access codes"),
        pattern=_CODE,
        bad=_("An access code is letters, digits, - or _ (at most 64): %(items)s"),
        help_text=_("When given, a buyer must enter one of them to buy; empty: no code needed."),
    )

    class Meta:
        model = SalePhase
        fields = [
            "name",
            "starts_at",
            "ends_at",
            "channels",
            "card_brands",
            "card_bin_prefixes",
            "access_codes",
            "per_buyer_limit",
            "requires_waiting_room",
        ]
        labels = {
            "per_buyer_limit": _("per-buyer limit"),
            "requires_waiting_room": _("only through the waiting room"),
        }
        help_texts = {
            "per_buyer_limit": _(
                "Tickets one buyer may hold and buy in this phase, all orders together."
            ),
            "requires_waiting_room": _(
                "Buyers need a pass from the event's waiting room to buy in this phase."
            ),
        }

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        choices = channel_choices()
        known = {value for value, _label in choices}
        # A channel stored before (a partner since removed) stays visible and kept.
        extra = [(c, c) for c in (self.initial.get("channels") or []) if c not in known]
        self.fields["channels"].choices = [*choices, *extra]
        # The admin shows and reads times in the site's zone, not the event's.
        zone = _("By %(zone)s time.") % {"zone": timezone.get_current_timezone_name()}
        self.fields["starts_at"].help_text = self.fields["ends_at"].help_text = zone


class PriceTierForm(forms.ModelForm):
    """A price tier whose key is chosen from the venue's sections' tier keys:
    the inventory puts each section on the tier with its key."""

    class Meta:
        model = PriceTier
        fields = ["key", "name", "name_kk", "name_en", "price", "colour", "sort_order"]
        help_texts = {
            "key": _(
                "The tier key of the venue's sections sold at this tier (see the venue's "
                "sections); save the event with its venue first to choose it from a list."
            ),
        }

    def __init__(self, *args, venue_keys: list[tuple[str, str]] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if venue_keys:
            current = self.initial.get("key") or ""
            choices = [("", "—"), *venue_keys]
            if current and current not in {k for k, _label in venue_keys}:
                choices.append((current, current))
            self.fields["key"] = forms.ChoiceField(
                label=_("key"),
                choices=choices,
                required=False,
                help_text=_(
                    "The venue's sections with this tier key are sold at this tier "
                    "when the inventory is created."
                ),
            )


def venue_tier_keys(venue_id: int | None) -> list[tuple[str, str]]:
    """(tier key, "key — the codes of the sections that use it") for the venue."""
    if not venue_id:
        return []
    keys: dict[str, list[str]] = {}
    for section in Section.objects.filter(venue_id=venue_id).exclude(tier_key=""):
        keys.setdefault(section.tier_key, []).append(section.code)
    return [
        (key, f"{key} — {' '.join(codes[:8])}{' …' if len(codes) > 8 else ''}")
        for key, codes in sorted(keys.items())
    ]


class EventDuplicateForm(forms.Form):
    """Where and when the copy of an event plays; times in the event's zone."""

    starts_at = forms.DateTimeField(
        label=_("New start (date and time)"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
    )
    slug = forms.SlugField(
        label=_("New address (slug)"),
        help_text=_("The event page's address: /e/<slug>/. Letters, digits and hyphens."),
    )
    copy_blocked = forms.BooleanField(
        label=_("Keep the blocked seats blocked"),
        required=False,
        initial=True,
        help_text=_("Otherwise every seat of the copy is on sale."),
    )

    def __init__(self, *args, time_zone: str, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.zone = ZoneInfo(time_zone)
        self.fields["starts_at"].help_text = _("In the event's time zone (%(zone)s).") % {
            "zone": time_zone
        }

    def clean_starts_at(self):
        value = self.cleaned_data["starts_at"]
        # The form reads a wall-clock time; it is the event's, not the server's.
        if timezone.is_aware(value):
            value = timezone.make_naive(value)
        return timezone.make_aware(value, self.zone)

    def clean_slug(self):
        slug = self.cleaned_data["slug"]
        if Event.objects.filter(slug=slug).exists():
            raise forms.ValidationError(_("Another event has this address already."))
        return slug


class AllocationForm(forms.ModelForm):
    """A new allocation: who may buy it (a channel or a sale phase), which
    stock (a seated section, optionally one tier, or a standing area) and
    how many, and when what is left goes to the general sale.

    The allocation is made in clean(), through events.services.allocation_create:
    the free-seat check and the tagging are one step, so seats bought by
    someone between the check and the save show as this form's error, not
    as a half-made allocation (the admin's add view is one transaction).
    """

    channel = forms.ChoiceField(
        label=_("channel"),
        required=False,
        help_text=_("Whose customers may buy these seats; or choose a sale phase instead."),
    )

    class Meta:
        model = Allocation
        fields = ["event", "name", "channel", "phase", "section", "tier", "quantity", "release_at"]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if "channel" not in self.fields:  # the change page: everything is read-only
            return
        self.fields["channel"].choices = [("", "—"), *channel_choices()]
        self.fields["section"].queryset = Section.objects.select_related("venue")
        self.fields["phase"].queryset = SalePhase.objects.select_related("event")
        self.fields["tier"].queryset = PriceTier.objects.select_related("event")

    def clean(self):
        data = super().clean()
        event = data.get("event")
        if self.errors or event is None:
            return data
        try:
            self.instance = allocation_create(
                event=event,
                name=data.get("name") or "",
                channel=data.get("channel") or "",
                phase=data.get("phase"),
                section=data.get("section"),
                tier=data.get("tier"),
                quantity=data.get("quantity"),
                release_at=data.get("release_at"),
                actor=getattr(self, "user", None),
            )
        except AllocationInvalid as exc:
            for field, messages in exc.details.items():
                for message in messages:
                    self.add_error(field if field in self.fields else None, message)
        return data

    def _post_clean(self) -> None:
        # The allocation is saved already (clean); the model's own checks ran
        # in the service and its constraints in the database.
        pass
