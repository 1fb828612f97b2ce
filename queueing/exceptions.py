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
    default_message = _("This queue pass is not valid for you.")


class PassExpired(KassaError):
    code = "queue_pass_expired"
    status = 410
    default_message = _("Your queue pass has expired; join the queue again.")
