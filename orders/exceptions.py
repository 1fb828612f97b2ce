"""Errors of holds and orders: a stable code, an HTTP status and a buyer-facing message."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from ticketing.errors import Busy, Conflict, KassaError, NotFound


class ValidationFailed(KassaError):
    code = "validation_error"
    status = 400
    default_message = _("Some fields are invalid.")


class PhaseClosed(KassaError):
    code = "phase_closed"
    status = 409
    default_message = _("Tickets are not on sale for you right now.")


class AccessCodeRequired(KassaError):
    code = "access_code_invalid"
    status = 403
    default_message = _("This sale needs a valid access code.")


class LimitExceeded(Conflict):
    code = "limit_exceeded"
    default_message = _("That would exceed the ticket limit per buyer for this sale.")


class SeatUnavailable(Conflict):
    code = "seat_unavailable"
    default_message = _("Some of the chosen seats were just taken; nothing was held.")


class NotEnoughSeats(Conflict):
    code = "not_enough_seats"
    default_message = _("There are not enough seats together left; try fewer or another area.")


class HoldNotFound(NotFound):
    code = "hold_not_found"
    default_message = _("This reservation does not exist.")


class HoldExpired(KassaError):
    code = "hold_expired"
    status = 410
    default_message = _("Your reservation has expired; please choose your seats again.")


class HoldNotActive(Conflict):
    code = "hold_not_active"
    default_message = _("This reservation can no longer be changed.")


class Forbidden(KassaError):
    code = "forbidden"
    status = 403
    default_message = _("This belongs to another buyer.")


class OrderExists(Conflict):
    code = "order_exists"
    default_message = _("An order was already placed for this reservation.")


class OrderNotFound(NotFound):
    code = "order_not_found"
    default_message = _("This order does not exist.")


class OrderNotCancellable(Conflict):
    code = "order_not_cancellable"
    default_message = _("Only unpaid orders can be cancelled.")


class StockBusy(Busy):
    code = "busy"


class EventNotFound(KassaError):
    code = "event_not_found"
    status = 404
    default_message = _("No such event.")


class TicketNotFound(NotFound):
    code = "ticket_not_found"
    default_message = _("No ticket has this code.")


class OverrideReasonRequired(KassaError):
    code = "validation_error"
    status = 400
    default_message = _("Say why the ticket is let in anyway.")
