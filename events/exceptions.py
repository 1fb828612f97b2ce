from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from ticketing.errors import KassaError


class EventNotFound(KassaError):
    code = "event_not_found"
    status = 404
    default_message = _("This event does not exist or is not on sale.")


class SectionNotFound(KassaError):
    code = "section_not_found"
    status = 404
    default_message = _("This section does not exist at this event's venue.")


class LayoutSpecInvalid(KassaError):
    code = "layout_spec_invalid"
    status = 400
    default_message = _("The venue layout spec is invalid.")


class InventoryTierMissing(KassaError):
    code = "inventory_tier_missing"
    status = 400
    default_message = _("Some sections have no matching price tier for this event.")
