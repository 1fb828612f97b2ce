"""Errors of the cinema app (a stable code, a status, a translatable message)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from ticketing.errors import Conflict, KassaError


class HallBusy(Conflict):
    code = "hall_busy"
    default_message = _("The hall is taken at that time (a showing or its turnaround).")


class ScheduleInvalid(KassaError):
    """The schedule file has errors; `details` maps "line N" (or "file") to
    its messages. Nothing was written."""

    code = "schedule_invalid"
    status = 400
    default_message = _("The schedule has errors; nothing was imported.")


class HallInvalid(KassaError):
    """A hall that cannot be created as asked (its code is taken, too few or
    too many seats); the layout's own problems are LayoutSpecInvalid."""

    code = "hall_invalid"
    status = 400
    default_message = _("The hall cannot be created as asked.")
