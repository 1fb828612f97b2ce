"""Strict readers of the environment for settings.py.

A value that is present but wrong stops start-up with a message naming the
variable, instead of silently becoming a default. Any variable may instead be
given as `<NAME>_FILE`, a path whose contents are the value (for secrets
mounted as files).
"""

from __future__ import annotations

import os
from urllib.parse import parse_qs, parse_qsl, unquote, urlencode, urlsplit, urlunsplit

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}
_UNSET = object()


def _raw(name: str) -> str | None:
    value = os.environ.get(name)
    file_path = os.environ.get(f"{name}_FILE")
    if value is not None and file_path is not None:
        raise ImproperlyConfigured(f"{name}: set either {name} or {name}_FILE, not both")
    if file_path is not None:
        try:
            with open(file_path, encoding="utf-8") as fh:
                return fh.read().strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"{name}_FILE: cannot read {file_path!r}: {exc}") from exc
    return value


def env_str(name: str, default: object = _UNSET) -> str:
    value = _raw(name)
    if value is None or value == "":
        if default is _UNSET:
            raise ImproperlyConfigured(f"{name} is required but not set")
        return default  # type: ignore[return-value]
    return value


def env_bool(name: str, default: bool) -> bool:
    value = _raw(name)
    if value is None or value == "":
        return default
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ImproperlyConfigured(
        f"{name}={value!r} is not a boolean; use one of {sorted(_TRUE | _FALSE)}"
    )


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    value = _raw(name)
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r} is not a whole number") from None
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name}={number} must be at least {minimum}")
    return number


def env_list(name: str, default: list[str]) -> list[str]:
    value = _raw(name)
    if value is None or value.strip() == "":
        return list(default)
    return [item.strip() for item in value.split(",") if item.strip()]


def env_site_url() -> str:
    """SITE_URL, else where this site listens: http://127.0.0.1:<PORT> (PORT
    defaults to 8000), without a trailing slash.

    E-mail links and payment callbacks are built from it: with `PORT=8201 make
    run` and a SITE_URL fixed at :8000, every callback went to nobody and paid
    orders expired. settings.py and the launcher's banner both read it here.
    """
    port = env_int("PORT", 8000, minimum=1)
    return env_str("SITE_URL", f"http://127.0.0.1:{port}").rstrip("/")


def env_choice(name: str, default: str, choices: list[str]) -> str:
    value = env_str(name, default)
    if value not in choices:
        raise ImproperlyConfigured(f"{name}={value!r} is not one of {choices}")
    return value


def parse_database_url(name: str, url: str) -> dict:
    """postgres[ql]://user:password@host:port/dbname?host=/socket/dir&opt=..."""
    parts = urlsplit(url)
    if parts.scheme not in {"postgres", "postgresql"}:
        raise ImproperlyConfigured(
            f"{name}: scheme {parts.scheme!r} is not supported; use postgresql://user:pass@host:5432/db"
        )
    dbname = unquote(parts.path.lstrip("/"))
    if not dbname or "/" in dbname:
        raise ImproperlyConfigured(f"{name}: the URL must name exactly one database, got {url!r}")
    query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    try:
        port = parts.port
    except ValueError:
        raise ImproperlyConfigured(f"{name}: the port in {url!r} is not a number") from None
    host = query.pop("host", None) or parts.hostname or ""
    if not host:
        raise ImproperlyConfigured(f"{name}: the URL names no host (or ?host=/socket/dir)")
    return {
        "NAME": dbname,
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": host,
        "PORT": str(port or ""),
        "OPTIONS": query,
    }


def env_database(name: str) -> dict:
    return parse_database_url(name, env_str(name))


def env_redis_url(name: str) -> str:
    url = env_str(name)
    parts = urlsplit(url)
    if parts.scheme not in {"redis", "rediss", "unix"}:
        raise ImproperlyConfigured(
            f"{name}: scheme {parts.scheme!r} is not supported; use redis://host:6379/0 or unix:///path.sock"
        )
    if parts.scheme == "unix" and not parts.path:
        raise ImproperlyConfigured(f"{name}: a unix:// URL needs the socket path")
    if parts.scheme != "unix" and not parts.hostname:
        raise ImproperlyConfigured(f"{name}: the URL names no host")
    try:
        parts.port  # noqa: B018 - validates the port
    except ValueError:
        raise ImproperlyConfigured(f"{name}: the port in {url!r} is not a number") from None
    return url


# Redis databases `make test` keeps for itself: 0 is `make run`'s, 1 the test
# run's (the first pytest-xdist worker's), 2 the bench's, 3-8 the other xdist
# workers'. A journey stack claims one outside these (journeys/stack.py).
TEST_REDIS_DBS = tuple(range(9))


def redis_url_db(url: str) -> int:
    parts = urlsplit(url)
    if parts.scheme == "unix":
        return int(dict(parse_qsl(parts.query)).get("db", 0))
    return int(parts.path.strip("/") or 0)


def redis_url_with_db(url: str, db: int) -> str:
    parts = urlsplit(url)
    if parts.scheme == "unix":
        query = dict(parse_qsl(parts.query))
        query["db"] = str(db)
        # urlunsplit writes "unix:/path" for an empty host; redis-py wants "unix:///path".
        return f"unix://{parts.netloc}{parts.path}?{urlencode(query)}"
    return urlunsplit(parts._replace(path=f"/{db}"))


def test_worker_redis_url(url: str) -> str:
    """`make test` runs pytest-xdist workers side by side. Each has its own
    test database (pytest-django's `_gwN` suffix) and, through this, its own
    Redis database, since every test starts by flushing its database: the
    launcher lists them in KASSA_TEST_REDIS_DBS ("1,3,4") and worker gwN takes
    the Nth. Anywhere else (no xdist worker, or no list) the URL is unchanged."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    dbs = [d for d in os.environ.get("KASSA_TEST_REDIS_DBS", "").split(",") if d]
    if not (worker.startswith("gw") and worker[2:].isdigit() and dbs):
        return url
    index = int(worker[2:])
    if index >= len(dbs):
        raise ImproperlyConfigured(f"KASSA_TEST_REDIS_DBS names no Redis database for {worker}")
    return redis_url_with_db(url, int(dbs[index]))


def celery_broker_url(redis_url: str) -> str:
    """Kombu spells a unix-socket Redis `redis+socket://` instead of `unix://`,
    and its database `?virtual_host=N`: it ignores `?db=N` there and uses db 0,
    so `make run` (db 0), `make test` (db 1) and the bench (db 2, flushed at
    start) shared one broker database and a bench run's worker got the
    callbacks still being retried from earlier runs."""
    if redis_url.startswith("unix://"):
        rest = redis_url[len("unix://") :]
        path, _, query = rest.partition("?")
        pairs = [p.split("=", 1) for p in query.split("&") if p]
        query = "&".join(("virtual_host" if k == "db" else k) + "=" + v for k, v in pairs)
        return "redis+socket://" + path + ("?" + query if query else "")
    return redis_url
