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


class EventWithoutInventory(KassaError):
    """On sale with nothing to sell: buyers would meet "sold out" at once."""

    code = "event_without_inventory"
    status = 409
    default_message = _(
        "The event has no seats and no standing places yet: create its inventory "
        "(the “Create inventory” action) before putting it on sale."
    )


class DuplicateInvalid(KassaError):
    code = "duplicate_invalid"
    status = 400
    default_message = _("The event cannot be duplicated as asked.")


class AllocationInvalid(KassaError):
    """An allocation staff asked for cannot be made (details per field)."""

    code = "allocation_invalid"
    status = 400
    default_message = _("The allocation cannot be made as asked.")


class EventCancelledFinal(KassaError):
    """A cancelled event's buyers were refunded: it never goes back on sale,
    and cancelling goes through payments' event_cancel (refunds, mail), never
    a bare status change."""

    code = "event_cancelled"
    status = 409
    default_message = _(
        "A cancelled event stays cancelled, and an event is cancelled only with "
        "the “Cancel event…” action, which refunds its buyers."
    )
