"""The kinds of payments' outbox messages (ticketing.outbox).

Named apart from their handlers (payments.outbox), which import the
services that put these messages: the services import only the names.
"""

from __future__ import annotations

REFUND = "payments.refund"
CONFIRMATION_MAIL = "orders.confirmation_mail"
PARTIAL_REFUND = "payments.partial_refund"
REFUND_MAIL = "payments.refund_mail"
EVENT_CANCEL = "payments.event_cancel"
CANCELLATION_MAIL = "payments.cancellation_mail"
