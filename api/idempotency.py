"""Idempotency for creating POSTs (API.md): the `Idempotency-Key` header.

Usage on an APIView method (the decorator also documents the header and the
409/422 answers in the OpenAPI schema):

    @extend_schema(request=HoldIn, responses={201: HoldOut, **error_responses(400, 409)})
    @idempotent
    def post(self, request, ...): ...

Without the header the view simply runs. With it:

- the first request claims (caller, method, path, key) by inserting an
  `IdempotencyRecord` (INSERT … ON CONFLICT DO NOTHING: the unique constraint,
  not a read-then-write, decides who runs), runs the view and stores the
  rendered response (status, body bytes, a few headers);
- the same key and body within the retention window (24 h) gets that response
  again, byte for byte, with `Idempotent-Replayed: true`;
- the same key with another body → 422 `idempotency_key_reused`;
- a duplicate while the first is still running → 409 `idempotency_in_flight`
  with `Retry-After`;
- a 5xx (or a crash) is not stored: the record is deleted so a retry runs anew;
  nor is a 400 (the body failed validation, nothing ran): the key stays free.

The caller is the API key (`apikey:<id>`) or else the buyer identity (account
or signed device cookie): two partners may use the same key string safely.
"""

from __future__ import annotations

import functools
import hashlib
import json
from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.http import HttpResponse
from django.http.request import RawPostDataException
from django.utils import timezone
from drf_spectacular.utils import extend_schema

from accounts.selectors import buyer_identity
from api.exceptions import IdempotencyInFlight, IdempotencyKeyInvalid, IdempotencyKeyReused
from api.models import IdempotencyRecord
from api.permissions import partner_key
from api.schema import IDEMPOTENCY_KEY_PARAMETER

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
# Headers that belong to the response itself and are replayed with it.
STORED_HEADERS = ("Content-Type", "Location", "Retry-After", "ETag", "Cache-Control")


def idempotent(view_method):
    @functools.wraps(view_method)
    def wrapper(self, request, *args, **kwargs):
        key = request.headers.get(HEADER)
        if key is None:
            return view_method(self, request, *args, **kwargs)
        _check_key(key)
        fingerprint = _fingerprint(request)
        outcome = _acquire(key=key, fingerprint=fingerprint, request_hash=_request_hash(request))
        if isinstance(outcome, HttpResponse):
            return outcome
        record_id = outcome
        try:
            try:
                response = view_method(self, request, *args, **kwargs)
            except Exception as exc:
                # Render the error now, as dispatch would, so that a 4xx answer
                # is stored and replayed like a success.
                response = self.handle_exception(exc)
            response = self.finalize_response(request, response, *args, **kwargs)
            if callable(getattr(response, "render", None)):
                response.render()
        except BaseException:
            _release(record_id)
            raise
        if response.status_code >= 500 or getattr(response, "streaming", False):
            _release(record_id)
        elif response.status_code == 400:
            # Invalid input (validation, parse): the operation never ran, so
            # the key is not spent; the caller fixes the body and retries
            # with the same key (a 409 or 410 did run, and is replayed).
            _release(record_id)
        else:
            _complete(record_id, response)
        return response

    return extend_schema(parameters=[IDEMPOTENCY_KEY_PARAMETER])(wrapper)


def _check_key(key: str) -> None:
    if not 1 <= len(key) <= 255 or not all(" " <= ch <= "~" for ch in key):
        raise IdempotencyKeyInvalid()


def _caller(request) -> str:
    api_key = partner_key(request)
    if api_key is not None:
        return f"apikey:{api_key.pk}"
    return buyer_identity(request).key


def _fingerprint(request) -> str:
    raw = "\n".join((_caller(request), request.method, request.path))
    return hashlib.sha256(raw.encode()).hexdigest()


def _request_hash(request) -> str:
    try:
        body = request._request.body
    except RawPostDataException:
        # The stream was consumed before the view (nothing here does that,
        # but a custom authenticator might): fall back to the parsed data.
        body = json.dumps(request.data, sort_keys=True, default=str).encode()
    return hashlib.sha256(body).hexdigest()


def _ttl() -> timedelta:
    return timedelta(hours=settings.API_IDEMPOTENCY_TTL_HOURS)


def _claim(*, key: str, fingerprint: str, request_hash: str) -> int | None:
    """Insert the claim row; its id if this request won it, None if it existed."""
    now = timezone.now()
    table = IdempotencyRecord._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""INSERT INTO {table}
                  ("key", fingerprint, request_hash, completed, response_status,
                   response_body, response_headers, created_at, claimed_at)
                VALUES (%s, %s, %s, false, NULL, %s, '{{}}'::jsonb, %s, %s)
                ON CONFLICT (fingerprint, "key") DO NOTHING
                RETURNING id""",  # noqa: S608 - the table name is ours
            [key, fingerprint, request_hash, b"", now, now],
        )
        row = cursor.fetchone()
    return row[0] if row else None


def _acquire(*, key: str, fingerprint: str, request_hash: str) -> int | HttpResponse:
    """The record id this request now owns, or the stored response to replay.

    Raises IdempotencyKeyReused / IdempotencyInFlight.
    """
    for _attempt in range(3):
        record_id = _claim(key=key, fingerprint=fingerprint, request_hash=request_hash)
        if record_id is not None:
            return record_id
        record = IdempotencyRecord.objects.filter(fingerprint=fingerprint, key=key).first()
        if record is None:
            continue  # the owner failed (5xx) and released it just now: claim again
        now = timezone.now()
        if record.created_at < now - _ttl():
            # Expired but not yet purged: drop it (only if still that old) and start afresh.
            IdempotencyRecord.objects.filter(pk=record.pk, created_at=record.created_at).delete()
            continue
        if record.request_hash != request_hash:
            raise IdempotencyKeyReused()
        if record.completed:
            return _replay(record)
        stale = now - timedelta(seconds=settings.API_IDEMPOTENCY_STALE_SECONDS)
        if record.claimed_at < stale:
            # The owner died mid-request (the row would block the key for a
            # day). Take over with a conditional UPDATE: of several retries
            # racing here, exactly one sees its row count be 1.
            taken = IdempotencyRecord.objects.filter(
                pk=record.pk, completed=False, claimed_at=record.claimed_at
            ).update(claimed_at=now)
            if taken:
                return record.pk
        raise IdempotencyInFlight(retry_after=1)
    raise IdempotencyInFlight(retry_after=1)


def _replay(record: IdempotencyRecord) -> HttpResponse:
    response = HttpResponse(bytes(record.response_body), status=record.response_status)
    for name, value in record.response_headers.items():
        response[name] = value
    response[REPLAYED_HEADER] = "true"
    return response


def _complete(record_id: int, response) -> None:
    headers = {name: response[name] for name in STORED_HEADERS if response.has_header(name)}
    IdempotencyRecord.objects.filter(pk=record_id).update(
        completed=True,
        response_status=response.status_code,
        response_body=response.content,
        response_headers=headers,
    )


def _release(record_id: int) -> None:
    IdempotencyRecord.objects.filter(pk=record_id, completed=False).delete()
