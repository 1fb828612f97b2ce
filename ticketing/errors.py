"""The base of every application error: a stable machine code, an HTTP status
and a translatable message. Each app's exceptions.py subclasses it; the API's
exception handler (api/exceptions.py) turns it into the one JSON error body,
and pages show `message`."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _


class KassaError(Exception):
    code: str = "error"
    status: int = 400
    default_message: Any = _("The request could not be completed.")
    retry_after: int | None = None

    def __init__(
        self,
        message: Any = None,
        *,
        details: dict[str, Any] | None = None,
        retry_after: int | None = None,
    ) -> None:
        self.message = message if message is not None else self.default_message
        self.details = details or {}
        if retry_after is not None:
            self.retry_after = retry_after
        super().__init__(str(self.message))


class NotFound(KassaError):
    code = "not_found"
    status = 404
    default_message = _("Not found.")


class Conflict(KassaError):
    code = "conflict"
    status = 409
    default_message = _("The state changed; reload and try again.")


class Busy(KassaError):
    """A lock could not be taken in time: the caller may simply retry."""

    code = "busy"
    status = 409
    default_message = _("Too many people are doing this right now; try again in a moment.")
    retry_after = 1


class ServiceUnavailable(KassaError):
    """PostgreSQL or Redis does not answer (a restart, a failover): nothing was
    done, and the same request will work again in a few seconds."""

    code = "service_unavailable"
    status = 503
    default_message = _("Part of the service is restarting; try again in a few seconds.")
    retry_after = 2


def backend_down(exc: BaseException | None) -> bool:
    """Is `exc` a lost connection to PostgreSQL or Redis (an outage, not a bug)?

    A lock or statement timeout is an OperationalError too; the services turn
    those into Busy before they get here, and "try again" suits any left."""
    if exc is None:
        return False
    from django.db import InterfaceError, OperationalError
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError

    return isinstance(exc, (OperationalError, InterfaceError, RedisConnectionError,
                            RedisTimeoutError))  # fmt: skip
