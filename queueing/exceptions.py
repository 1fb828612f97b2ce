from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from ticketing.errors import KassaError


class PassRequired(KassaError):
    code = "queue_pass_required"
    status = 423
    default_message = _("This sale is guarded by a waiting room: join the queue first.")


class PassInvalid(KassaError):
    code = "queue_pass_invalid"
    status = 423
    default_message = _(
        "This queue pass is not valid for you. The waiting room page shows your place."
    )


class PassExpired(KassaError):
    code = "queue_pass_expired"
    status = 410
    default_message = _("Your queue pass has expired; join the queue again.")


class PassEnded(PassExpired):
    """The pass ended with the buyer's paid order (same code: the pass is gone)."""

    default_message = _(
        "Your queue pass ended with your paid order. To buy more, join the queue again "
        "on the waiting room page."
    )


class BuyerLimitReached(KassaError):
    code = "queue_limit_reached"
    status = 409
    default_message = _("You have bought as many tickets as one buyer may in this sale.")


class RoomNotFound(KassaError):
    code = "queue_not_found"
    status = 404
    default_message = _("This event has no waiting room.")


class RoomNotOpen(KassaError):
    code = "queue_not_open"
    status = 409
    default_message = _("The waiting room is not open yet.")


class RoomClosed(KassaError):
    code = "queue_closed"
    status = 409
    default_message = _("The waiting room is closed.")


class RoomRestarting(KassaError):
    code = "queue_restarting"
    status = 503
    default_message = _("The waiting room is restarting; try again in a second.")
    retry_after = 1


class TokenInvalid(KassaError):
    code = "queue_token_invalid"
    status = 400
    default_message = _("This queue token is not valid.")


class ShopFull(KassaError):
    code = "queue_shop_full"
    status = 429
    default_message = _("The shop is full right now; try again in a moment.")
    retry_after = 5
