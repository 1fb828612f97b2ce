from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from ticketing.errors import KassaError


class HallInvalid(KassaError):
    """A hall that cannot be created as asked (its code is taken, too few or
    too many seats); the layout's own problems are LayoutSpecInvalid."""

    code = "hall_invalid"
    status = 400
    default_message = _("The hall cannot be created as asked.")
