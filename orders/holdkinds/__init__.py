"""Hold kinds: how a hold takes, returns, sells and unsells its stock, issues
its tickets and describes itself. One module per kind:

  seats.py     chosen seats (and `Seated`, what every seated hold does once stored)
  best.py      best available: N seats together, the best block first
  standing.py  places of a standing area (counters, no rows)
  pairs.py     seats sold only together (love seats, wheelchair + companion):
               the check every seated kind makes of what it takes

hold_create picks the kind from the request (the one key of KINDS' `field`s
given, parsed by that kind into a typed request); payments, refunds, the
sweeper, tickets and the API/pages call the kind of the stored hold
(`kind_of`) instead of asking "seats or standing?". The stock itself moves
only through events/stock.py.

To add a kind (say, accessible seats with a companion seat):
  1. write `orders/holdkinds/<kind>.py` with a class deriving from
     base.HoldKind (or from seats.Seated when its stock is seats): `field`
     (the request's key), `name` (the audit's kind), `parse` and `take`, and
     the stored-hold methods it does not inherit;
  2. add it to KINDS below (the order is the page form's precedence); the
     API body (HoldCreateIn) and the page form (form_request) take their
     field from the kind (`api_field`, `form_value`);
  3. its tests in `orders/tests/test_holdkinds_<kind>.py`, with real
     concurrent racers if it takes stock its own way (STYLE.md rule 11).
A stored hold's kind is told from its stock (`kind_of`): seat ids or
standing lines. A kind whose stored behaviour is neither would add a `kind`
column to Hold (a migration) and read it in `kind_of`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.http import QueryDict
from django.utils.translation import gettext as _
from rest_framework import serializers

from events.selectors import SaleSnapshot
from orders.exceptions import ValidationFailed
from orders.holdkinds.base import HoldKind, Take, Taken
from orders.holdkinds.best import BestAvailable
from orders.holdkinds.seats import Seated, Seats
from orders.holdkinds.standing import Standing

if TYPE_CHECKING:
    from orders.models import Hold, Ticket

__all__ = [
    "KINDS",
    "HoldKind",
    "Take",
    "Taken",
    "api_fields",
    "form_request",
    "kind_of",
    "kind_of_ticket",
    "request_parse",
]

KINDS: tuple[type[HoldKind], ...] = (Seats, BestAvailable, Standing)
FIELDS: tuple[str, ...] = tuple(kind.field for kind in KINDS)


def request_parse(sale: SaleSnapshot, requested: dict[str, Any]) -> HoldKind:
    """The typed request of the one kind whose key is given (not None)."""
    unknown = set(requested) - set(FIELDS)
    if unknown:
        raise TypeError(f"not a hold kind: {sorted(unknown)}")
    given = [kind for kind in KINDS if requested.get(kind.field) is not None]
    if len(given) != 1:
        raise ValidationFailed(
            details={
                "non_field_errors": [_("Give exactly one of seats, best_available or standing.")]
            }
        )
    kind = given[0]
    return kind.parse(sale, requested[kind.field])


def api_fields() -> dict[str, serializers.Field]:
    """The request body's field of each kind (HoldCreateIn)."""
    return {kind.field: kind.api_field() for kind in KINDS}


def form_request(post: QueryDict) -> dict[str, Any]:
    """The event page's form → hold_create's stock argument: the first kind
    (in KINDS' order) whose fields the form fills in."""
    for kind in KINDS:
        value = kind.form_value(post)
        if value is not None:
            return {kind.field: value}
    raise ValidationFailed(details={"seats": [_("Choose seats or a quantity first.")]})


def kind_of(hold: Hold) -> type[HoldKind]:
    """The kind of a stored hold: seated if it has seats, else standing.
    Seated kinds share every stored behaviour, so which picked them does not matter."""
    return Seated if hold.seat_ids else Standing


def kind_of_ticket(ticket: Ticket) -> type[HoldKind]:
    return Seated if ticket.event_seat_id is not None else Standing
