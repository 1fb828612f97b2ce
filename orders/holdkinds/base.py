"""What every hold kind provides (see the package docstring), and the input
checks the kinds share."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar

from django.http import QueryDict
from django.utils.translation import gettext as _
from rest_framework import serializers

from events.models import Event
from events.selectors import SaleSnapshot
from orders.exceptions import ValidationFailed

if TYPE_CHECKING:
    from orders.models import Hold, Order, Ticket


@dataclass(frozen=True)
class Take:
    """What hold_create gives a kind to take its stock with, inside its
    transaction and after the buyer's lock (lock order: orders/services/holds.py)."""

    event: Event
    sale: SaleSnapshot
    hold_id: uuid.UUID
    until: datetime
    now: datetime
    # Whose seats of an allocation it may take (events/stock.py, USABLE).
    channel: str
    phase_id: int | None
    # expire_lapsed(now, **hold_filter) expires the lapsed holds still
    # counting on some stock, skipping those locked by others: what counters
    # need before taking (an expired seat row is takeable as it is, a counter
    # is not).
    expire_lapsed: Callable[..., None]
    # expire_locked(hold ids) expires these lapsed holds, which the kind has
    # locked (SKIP LOCKED) under its stock's lock: the same, for a kind that
    # found them itself in its own round trip.
    expire_locked: Callable[[list], None] = lambda ids: None
    # release_due(now, area=<locked StandingArea>) releases that area's
    # allocations whose release_at has come (their places become general).
    release_due: Callable[..., None] = lambda now, **area: None


@dataclass(frozen=True)
class Taken:
    """The stock a kind took: the hold's seat ids (empty if none), its total,
    the response's items (from the rows read under lock) and the rows to
    insert with the Hold row (`lines`, unsaved instances, e.g. the standing
    lines: written in the hold's own round trip)."""

    seat_ids: list[int]
    total: Decimal
    items: list[dict]
    lines: Callable[[Hold], list[Any]] = lambda hold: []


class HoldKind:
    """One kind of hold. An instance is a parsed, typed request (parse); the
    class methods act on a stored hold of this kind."""

    # The request's key (API body, hold_create keyword) and the audit's "kind".
    field: ClassVar[str]
    name: ClassVar[str]
    quantity: int
    # The event page form's number fields, by key of this kind's request
    # value; the first one filled in says the form asks for this kind.
    form_fields: ClassVar[dict[str, str]] = {}

    @classmethod
    def api_field(cls) -> serializers.Field:
        """The request body's field for this kind (HoldCreateIn, API.md)."""
        raise NotImplementedError

    @classmethod
    def form_value(cls, post: QueryDict) -> Any:
        """The event page form's value for this kind, or None if the form asks
        for another kind (bad numbers → ValidationFailed)."""
        names = list(cls.form_fields.values())
        if not names or not post.get(names[0]):
            return None
        return {key: form_number(post, name) for key, name in cls.form_fields.items()}

    @classmethod
    def parse(cls, sale: SaleSnapshot, value: Any) -> HoldKind:
        """Check the request's value (ValidationFailed) and return the typed request."""
        raise NotImplementedError

    def take(self, take: Take) -> Taken:
        """All of the stock or nothing, by conditional UPDATEs (events/stock.py)."""
        raise NotImplementedError

    @classmethod
    def return_stock(cls, hold: Hold) -> None:
        """Give back what the hold still owns (caller locks the hold)."""
        raise NotImplementedError

    @classmethod
    def extend(cls, hold: Hold, until: datetime) -> None:
        """Move the stock's own expiry with the hold's (the payment extension)."""

    @classmethod
    def sell(cls, order: Order, hold: Hold) -> bool:
        """Move the hold's stock to sold; False if any is lost (caller rolls back)."""
        raise NotImplementedError

    @classmethod
    def sell_places(cls, order: Order, hold: Hold) -> list[dict[str, Any]] | None:
        """sell, then ticket_places; None if any stock is lost (caller rolls
        back). A kind may do both in one statement."""
        return cls.ticket_places(hold) if cls.sell(order, hold) else None

    @classmethod
    def unsell(cls, order: Order, tickets: list[Ticket]) -> None:
        """Put the places of these refunded tickets of the order back on sale (the
        caller leaves out used tickets: the person is inside)."""
        raise NotImplementedError

    @classmethod
    def ticket_places(cls, hold: Hold) -> list[dict[str, Any]]:
        """One dict of Ticket fields (place, tier_id, price) per ticket to issue."""
        raise NotImplementedError

    @classmethod
    def items(cls, hold: Hold) -> list[dict]:
        """The hold's places for the API and the pages."""
        raise NotImplementedError

    @classmethod
    def describe(cls, ticket: Ticket) -> dict[str, str | None]:
        """A ticket's place: section, row, seat, tier."""
        raise NotImplementedError


def form_number(post: QueryDict, name: str) -> int | None:
    """A whole number from a form field, None if empty."""
    raw = (post.get(name) or "").strip()
    if not raw:
        return None
    if not (raw.isascii() and raw.isdigit()):  # "²".isdigit() is True; int("²") raises
        raise ValidationFailed(details={name: [_("Enter a whole number.")]})
    return int(raw)


def check_quantity(value: Any, field: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValidationFailed(details={field: [_("Quantity must be a whole number from 1.")]})
    return value


def check_ref(value: Any, known: dict[int | str, int], field: str) -> int | None:
    """Resolve a tier/section given by id (or, for sections, by code)."""
    if value in (None, ""):
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        found = known.get(value)
    elif isinstance(value, str) and field == "section":
        found = known.get(value)
    else:
        found = None
    if found is None:
        raise ValidationFailed(details={field: [_("Unknown %(field)s.") % {"field": field}]})
    return found


def sections_of_kind(sale: SaleSnapshot, kind: str) -> dict[int | str, int]:
    """The venue's sections of one kind, by id and by code."""
    found: dict[int | str, int] = {}
    for section in sale.sections.values():
        if section.kind == kind:
            found[section.pk] = found[section.code] = section.pk
    return found
