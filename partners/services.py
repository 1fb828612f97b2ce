"""Webhook writes: endpoints and their secrets, recording an event for the
endpoints that want it (inside the deciding transaction, with its outbox
message), delivering one delivery (the outbox handler), replaying one."""

from __future__ import annotations

import http.client
import ipaddress
import json
import logging
import socket
import time
import uuid
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from api.models import Partner
from partners.exceptions import WebhookEventsInvalid, WebhookUrlInvalid
from partners.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEventType
from ticketing.audit import AuditAction, audit_log
from ticketing.outbox import outbox_put
from ticketing.signing import STAMPED_HEADER, stamped_header

logger = logging.getLogger(__name__)

DELIVER_KIND = "partners.webhook"
RESPONSE_EXCERPT_CHARS = 2000
EVENT_ID_HEADER = "Kassa-Event-Id"
EVENT_TYPE_HEADER = "Kassa-Event-Type"
DELIVERY_ID_HEADER = "Kassa-Delivery-Id"


class WebhookDeliveryFailed(Exception):
    """A non-2xx answer or no answer: the outbox retries it with back-off."""


def _loopback_partner(partner: Partner | None) -> bool:
    """May this partner's endpoints be on loopback (WEBHOOK_LOOPBACK_PARTNERS)?"""
    return partner is not None and partner.slug in settings.WEBHOOK_LOOPBACK_PARTNERS


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def webhook_endpoint_check(*, url: str, events: list[str], partner: Partner | None = None) -> None:
    """Raise WebhookUrlInvalid / WebhookEventsInvalid for what would not be created.

    A partner named in WEBHOOK_LOOPBACK_PARTNERS may also use http:// on a
    loopback address (and only there); everyone else follows
    WEBHOOK_ALLOW_HTTP and WEBHOOK_ALLOW_PRIVATE_HOSTS."""
    try:
        URLValidator(schemes=["http", "https"])(url)
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises ValueError for a port out of range)
    except (ValidationError, ValueError):
        raise WebhookUrlInvalid() from None
    if not parts.hostname:
        raise WebhookUrlInvalid()
    loopback = _loopback_partner(partner) and _is_loopback(parts.hostname)
    if parts.scheme == "http" and not (settings.WEBHOOK_ALLOW_HTTP or loopback):
        raise WebhookUrlInvalid()
    if not (settings.WEBHOOK_ALLOW_PRIVATE_HOSTS or loopback) and not _public_literal(
        parts.hostname
    ):
        raise WebhookUrlInvalid()
    unknown = sorted(set(events) - set(WebhookEventType.values))
    if unknown or not events:
        raise WebhookEventsInvalid(details={"events": unknown})


@transaction.atomic
def webhook_endpoint_create(
    *,
    partner: Partner,
    url: str,
    events: list[str],
    description: str = "",
    actor_user: Any = None,
    actor: str = "",
) -> tuple[WebhookEndpoint, str]:
    """A new endpoint and its signing secret (returned to show once)."""
    webhook_endpoint_check(url=url, events=events, partner=partner)
    secret = WebhookEndpoint.generate_secret()
    endpoint = WebhookEndpoint.objects.create(
        partner=partner,
        url=url,
        events=sorted(set(events)),
        description=description,
        secret=secret,
    )
    audit_log(
        action=AuditAction.WEBHOOK_ENDPOINT_CREATED,
        obj=endpoint,
        actor_user=actor_user,
        actor=actor,
        data={"partner": partner.slug, "url": url, "events": endpoint.events},
    )
    return endpoint, secret


@transaction.atomic
def webhook_endpoint_rotate_secret(
    *,
    endpoint: WebhookEndpoint,
    overlap_hours: float = 24,
    actor_user: Any = None,
    actor: str = "",
) -> str:
    """A new secret; the old one keeps signing beside it for `overlap_hours`
    (every delivery then carries two `v1=`), so the partner can switch without
    rejecting a single webhook. Returns the new secret (shown once)."""
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    secret = WebhookEndpoint.generate_secret()
    endpoint.previous_secret = endpoint.secret
    endpoint.previous_secret_expires_at = timezone.now() + timedelta(hours=overlap_hours)
    endpoint.secret = secret
    endpoint.save(update_fields=["secret", "previous_secret", "previous_secret_expires_at"])
    audit_log(
        action=AuditAction.WEBHOOK_ENDPOINT_SECRET_ROTATED,
        obj=endpoint,
        actor_user=actor_user,
        actor=actor,
        data={"overlap_until": endpoint.previous_secret_expires_at.isoformat()},
    )
    return secret


@transaction.atomic
def webhook_endpoint_disable(
    *, endpoint: WebhookEndpoint, actor: str = "", actor_user: Any = None
) -> bool:
    """No more deliveries to it (those already queued still go). False if it
    was disabled already."""
    changed = WebhookEndpoint.objects.filter(pk=endpoint.pk, is_active=True).update(is_active=False)
    if changed:
        audit_log(
            action=AuditAction.WEBHOOK_ENDPOINT_DISABLED,
            obj=endpoint,
            actor=actor,
            actor_user=actor_user,
            data={"url": endpoint.url},
        )
    return bool(changed)


def webhook_event_record(*, partner_id: int, event_type: str, data: dict[str, Any]) -> int:
    """Record `event_type` for every active endpoint of the partner that wants
    it: a delivery row and its outbox message each, in the caller's
    transaction (so they commit with the change or not at all). Returns how
    many deliveries were recorded."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("webhook_event_record must run inside the deciding transaction")
    endpoints = [
        e
        for e in WebhookEndpoint.objects.filter(partner_id=partner_id, is_active=True)
        if event_type in e.events
    ]
    if not endpoints:
        return 0
    event_id = uuid.uuid4()
    body = {
        "id": str(event_id),
        "type": event_type,
        "created": int(time.time()),
        "data": data,
    }
    for endpoint in endpoints:
        _delivery_queue(endpoint=endpoint, event_id=event_id, event_type=event_type, body=body)
    return len(endpoints)


def _delivery_queue(
    *,
    endpoint: WebhookEndpoint,
    event_id: uuid.UUID,
    event_type: str,
    body: dict[str, Any],
    replay_of: WebhookDelivery | None = None,
) -> WebhookDelivery:
    delivery = WebhookDelivery.objects.create(
        endpoint=endpoint,
        partner_id=endpoint.partner_id,
        event_id=event_id,
        event_type=event_type,
        payload=body,
        replay_of=replay_of,
    )
    outbox_put(kind=DELIVER_KIND, payload={"delivery_id": str(delivery.pk)})
    return delivery


@transaction.atomic
def webhook_delivery_replay(
    *, delivery: WebhookDelivery, actor_user: Any = None, actor: str = ""
) -> WebhookDelivery:
    """Send the delivery's event again, as a new delivery to the same endpoint
    (same event id and body, so a partner that dedupes sees it is the same
    event; its own delivery id and attempts)."""
    replay = _delivery_queue(
        endpoint=delivery.endpoint,
        event_id=delivery.event_id,
        event_type=delivery.event_type,
        body=delivery.payload,
        replay_of=delivery,
    )
    audit_log(
        action=AuditAction.WEBHOOK_DELIVERY_REPLAYED,
        obj=replay,
        actor_user=actor_user,
        actor=actor,
        data={"replay_of": str(delivery.pk), "event_id": str(delivery.event_id)},
    )
    return replay


def webhook_body_bytes(delivery: WebhookDelivery) -> bytes:
    return json.dumps(delivery.payload, separators=(",", ":"), sort_keys=True).encode()


def webhook_deliver(*, delivery_id: str) -> None:
    """The outbox handler: POST the delivery once, record the attempt; raise on
    anything but a 2xx so the outbox tries again with back-off (and gives up
    after OUTBOX_MAX_ATTEMPTS). Runs outside any transaction. At least once: a
    deliverer killed after the partner got the request sends it again, with
    the same Kassa-Event-Id for the partner to dedupe."""
    delivery = (
        WebhookDelivery.objects.select_related("endpoint__partner").filter(pk=delivery_id).first()
    )
    if delivery is None or delivery.status == WebhookDelivery.Status.SUCCEEDED:
        return  # purged, or done by a run that outlived its lease
    endpoint = delivery.endpoint
    body = webhook_body_bytes(delivery)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "kassa-webhooks/1",
        STAMPED_HEADER: stamped_header(secrets=endpoint.signing_secrets(), body=body),
        EVENT_ID_HEADER: str(delivery.event_id),
        EVENT_TYPE_HEADER: delivery.event_type,
        DELIVERY_ID_HEADER: str(delivery.pk),
    }
    started = timezone.now()
    clock = time.monotonic()
    status_code, excerpt, error = None, "", ""
    try:
        loopback = _loopback_partner(endpoint.partner)
        status_code, excerpt = _post(endpoint.url, body, headers, loopback=loopback)
    except (OSError, http.client.HTTPException) as exc:
        error = f"{type(exc).__name__}: {exc}"[:RESPONSE_EXCERPT_CHARS]
    duration_ms = int((time.monotonic() - clock) * 1000)
    ok = status_code is not None and 200 <= status_code < 300
    with transaction.atomic():
        WebhookAttempt.objects.create(
            delivery=delivery,
            started_at=started,
            duration_ms=duration_ms,
            status_code=status_code,
            response_body=excerpt,
            error=error,
        )
        changes: dict[str, Any] = {"attempts": F("attempts") + 1, "last_status_code": status_code}
        if ok:
            changes |= {"status": WebhookDelivery.Status.SUCCEEDED, "delivered_at": timezone.now()}
        elif delivery.attempts + 1 >= settings.OUTBOX_MAX_ATTEMPTS:
            # The outbox counts every claim (a killed run too), so it has tried
            # at least as often as we recorded: this failure is its last.
            changes["status"] = WebhookDelivery.Status.GIVEN_UP
        else:
            changes["status"] = WebhookDelivery.Status.FAILING
        # A late failure never turns a delivery another run finished back to failing.
        WebhookDelivery.objects.filter(pk=delivery.pk).exclude(
            status=WebhookDelivery.Status.SUCCEEDED
        ).update(**changes)
    if not ok:
        raise WebhookDeliveryFailed(error or f"HTTP {status_code}")


class PrivateAddress(OSError):
    """The endpoint's host resolves to an address kassa must not call."""


def _public_literal(host: str) -> bool:
    """False for an IP literal that is not a public address (names are
    checked after DNS, at each POST)."""
    try:
        return ipaddress.ip_address(host).is_global
    except ValueError:
        return host.lower() != "localhost"


def _is_global(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_global
    except ValueError:  # a scoped IPv6 (fe80::1%eth0): link-local, never public
        return False


def _public_addresses(host: str, port: int, *, loopback: bool = False) -> list[str]:
    """The addresses of `host`; PrivateAddress if any is not public (unless
    WEBHOOK_ALLOW_PRIVATE_HOSTS; with `loopback`, loopback ones are allowed too)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses = [info[4][0] for info in infos]
    if not settings.WEBHOOK_ALLOW_PRIVATE_HOSTS:
        for address in addresses:
            if not (_is_global(address) or (loopback and _is_loopback(address))):
                raise PrivateAddress(f"{host} resolves to {address}, not a public address")
    return list(dict.fromkeys(addresses))


def _connect_checked(addresses: list[str], port: int):
    """socket.create_connection over the addresses already checked, in order."""

    def connect(_address, timeout, source=None):
        error: OSError | None = None
        for address in addresses:
            try:
                return socket.create_connection((address, port), timeout, source)
            except OSError as exc:
                error = exc
        raise error or OSError("no address")

    return connect


def _post(
    url: str, body: bytes, headers: dict[str, str], *, loopback: bool = False
) -> tuple[int, str]:
    """One POST, no redirects followed (a 3xx is a failure, as Stripe does)."""
    parts = urlsplit(url)
    connection_class = (
        http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    )
    port = parts.port or (443 if parts.scheme == "https" else 80)
    addresses = _public_addresses(parts.hostname, port, loopback=loopback)
    connection = connection_class(parts.hostname, port, timeout=settings.WEBHOOK_TIMEOUT_SECONDS)
    # Connect to the addresses just checked (no second DNS answer in between);
    # TLS still verifies the certificate against the host name.
    connection._create_connection = _connect_checked(addresses, port)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    try:
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        excerpt = response.read(RESPONSE_EXCERPT_CHARS).decode("utf-8", "replace")
        return response.status, excerpt
    finally:
        connection.close()
