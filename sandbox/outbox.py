"""The gateway's callback deliveries (ticketing.outbox): POST each signed
callback to the merchant's callback URL until it answers 2xx.

Registered by SandboxConfig.ready only in a process that serves the gateway.
The merchant deduplicates by event_id, so a retry after a lost 2xx is harmless.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from typing import Any

from django.conf import settings

from sandbox.gateway import CALLBACK_KIND, SIGNATURE_HEADER, sign
from ticketing.outbox import outbox_handler

logger = logging.getLogger(__name__)

# Bounded, yet above a busy site's p99 (~10 s in the on-sale bench); below
# the outbox lease (OUTBOX_LEASE_SECONDS), so a slow merchant is never
# called twice at once for one message.
CALLBACK_TIMEOUT_SECONDS = 15


class CallbackNotAccepted(Exception):
    """The merchant answered non-2xx: the outbox retries with back-off."""


@outbox_handler(CALLBACK_KIND)
def callback_deliver(payload: dict[str, Any]) -> int:
    raw = json.dumps(payload["body"], separators=(",", ":")).encode()
    request = urllib.request.Request(  # noqa: S310 (the merchant's http/https URL)
        # Messages queued before the gateway kept the merchant's callback URL
        # went to this site's.
        payload.get("url") or settings.SITE_URL + "/api/v1/payments/sandbox/callback/",
        data=raw,
        method="POST",
        headers={"Content-Type": "application/json", SIGNATURE_HEADER: sign(raw)},
    )
    try:
        with urllib.request.urlopen(request, timeout=CALLBACK_TIMEOUT_SECONDS) as response:  # noqa: S310
            return response.status
    except urllib.error.HTTPError as exc:
        logger.warning("sandbox callback answered %s", exc.code)
        raise CallbackNotAccepted(str(exc.code)) from exc
