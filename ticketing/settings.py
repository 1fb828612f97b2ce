"""kassa settings: everything that varies between machines comes from the environment.

See ticketing/env.py for the strict readers and README.md for the variables.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from django.utils.translation import gettext_lazy as _

from ticketing.env import (
    celery_broker_url,
    env_bool,
    env_database,
    env_int,
    env_list,
    env_redis_url,
    env_site_url,
    env_str,
    test_worker_redis_url,
)

BASE_DIR = Path(__file__).resolve().parent.parent
# The launcher's data folder (embedded servers, generated secrets, demo logins, mail):
# one rule with ticketing.launcher, so a stack started with its own KASSA_DATA_DIR
# never writes into a developer's .data/.
DATA_DIR = Path(env_str("KASSA_DATA_DIR", str(BASE_DIR / ".data"))).resolve()

SECRET_KEY = env_str("SECRET_KEY")
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
# Absolute links (e-mails, payment callbacks): SITE_URL, else http://127.0.0.1:<PORT>.
SITE_URL = env_site_url()

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "ticketing",
    "api",
    "accounts",
    "events",
    "orders",
    "payments",
    "queueing",
    "partners",  # partner webhooks (above payments: it hears orders' changes)
    "sales",  # the on-sale console and the post-sale report (the top layer)
    "cinema",  # cities, cinemas, halls, films and their showings (events)
    "sandbox",  # the pretend acquirer (sandbox/__init__.py)
    "axes",  # the staff-login lockout (accounts section)
    "drf_spectacular_sidecar",  # the API docs' own static files, no CDN
    "csp",  # the content security policy (security headers section)
]

# The whole chain, outermost first; the order is part of the behaviour, so it
# is written once here (the sections below only configure what each one does).
MIDDLEWARE = [
    # First, so the latency covers every other middleware too.
    "ticketing.metrics.MetricsMiddleware",
    # Per-minute request outcomes in Postgres, for the post-sale report.
    "sales.middleware.RequestRollupMiddleware",
    "ticketing.middleware.RequestIdMiddleware",
    # Outermost after the request id: strips cookies/Vary from public, cacheable
    # answers (the queue's public state) set by the middleware inside it.
    "queueing.middleware.PublicCacheMiddleware",
    # A body past DATA_UPLOAD_MAX_MEMORY_SIZE (Django's 2.5 MB) is a 413 before
    # anything reads it (it was a 500 from the API).
    "ticketing.middleware.RequestSizeLimitMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Inside SecurityMiddleware (the security headers section configures it).
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Right after authentication: drops a session of an account that signed out
    # everywhere before anything below trusts request.user.
    "accounts.middleware.SessionEpochMiddleware",
    "accounts.middleware.DeviceCookieMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # The staff-login lockout (django-axes, see the accounts section).
    "axes.middleware.AxesMiddleware",
    # Inside both the CSP and the X-Frame-Options middleware, so its marks on
    # the response are read by them.
    "ticketing.security.FrameAncestorsMiddleware",
]

ROOT_URLCONF = "ticketing.urls"
WSGI_APPLICATION = "ticketing.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- PostgreSQL (psycopg 3 with a connection pool per process) -------------
_db = env_database("DATABASE_URL")
_pool_max = env_int("DB_POOL_MAX_SIZE", 20, minimum=0)
if _pool_max:
    # Pooled connections are reused across requests; CONN_MAX_AGE must stay 0.
    _db["OPTIONS"]["pool"] = {
        "min_size": min(2, _pool_max),
        "max_size": _pool_max,
        "timeout": env_int("DB_POOL_TIMEOUT", 10, minimum=1),
    }
    # A pooled connection idle for longer than this is checked (one empty
    # query) before it is handed out: after a PostgreSQL restart every idle
    # connection in every process is dead, and without the check each would
    # fail one request with a 500 long after the server is back (the faults
    # suite). One back from a request a moment ago is not (ticketing/db: the
    # engine sets the pool's check, so Django's check-every-time one is off).
    _db["POOL_CHECK_IDLE_SECONDS"] = env_int("DB_POOL_CHECK_IDLE_SECONDS", 2, minimum=0)
    _db["CONN_HEALTH_CHECKS"] = False
DATABASES = {"default": {"ENGINE": "ticketing.db", **_db}}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: cache, waiting rooms and the Celery broker ---------------------
REDIS_URL = test_worker_redis_url(env_redis_url("REDIS_URL"))
CACHES = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "kassa",
        "OPTIONS": {
            "CLIENT_CLASS": "django_redis.client.DefaultClient",
            "SOCKET_CONNECT_TIMEOUT": 2,
            "SOCKET_TIMEOUT": 2,
        },
    }
}

CELERY_BROKER_URL = celery_broker_url(REDIS_URL)
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_TASK_DEFAULT_QUEUE = env_str("CELERY_QUEUE", "kassa")
# The periodic tasks: CELERY_BEAT_SCHEDULE, one dict in the "celery: the ticks
# queue" section below (after the settings their intervals come from).

# --- Auth and sessions -----------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
SECURE_COOKIES = env_bool("SECURE_COOKIES", False)  # true behind HTTPS
SESSION_COOKIE_SECURE = SECURE_COOKIES
CSRF_COOKIE_SECURE = SECURE_COOKIES
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
if env_bool("BEHIND_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- Internationalisation --------------------------------------------------
LANGUAGE_CODE = env_str("LANGUAGE_CODE", "ru")
LANGUAGES = [("ru", _("Russian")), ("kk", _("Kazakh")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env_str("TIME_ZONE", "Asia/Almaty")
USE_I18N = True
USE_TZ = True

# --- Static files ----------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(DATA_DIR / "media")))
MEDIA_URL = "media/"

# --- E-mail ----------------------------------------------------------------
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
# A mail server that never answers must not hold an outbox message past its lease.
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10, minimum=1)
EMAIL_FILE_PATH = env_str("EMAIL_FILE_PATH", str(DATA_DIR / "mail"))
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "kassa <tickets@kassa.local>")

# --- REST API --------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "api.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    # Rates: API_THROTTLE_PARTNER / API_THROTTLE_ANON in the API platform block below.
    "DEFAULT_THROTTLE_CLASSES": [
        "api.throttling.PartnerKeyThrottle",
        "api.throttling.SiteCallerThrottle",
    ],
    "DEFAULT_PAGINATION_CLASS": "api.pagination.KassaCursorPagination",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["api.parsers.KassaJSONParser"],
    "EXCEPTION_HANDLER": "api.exceptions.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "kassa API",
    "DESCRIPTION": "Ticket sales for partner apps and the site's own pages.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1/",
    "COMPONENT_SPLIT_REQUEST": True,
    # One name per choice set that two serializers share (check --deploy fails on W001).
    "ENUM_NAME_OVERRIDES": {
        "WebhookEventTypeEnum": "partners.models.WebhookEventType",
        "WebhookDeliveryStatusEnum": "partners.models.WebhookDelivery.Status",
        "EventStatusEnum": "events.models.Event.Status",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "api.schema.add_common_errors",
        "api.schema.add_error_catalog",
    ],
    # Swagger UI and its JS from drf-spectacular-sidecar: /api/v1/docs/ works offline.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- Logging: one JSON object per line, with the request id ----------------
LOG_LEVEL = env_str("LOG_LEVEL", "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "ticketing.logging.RequestIdFilter"}},
    "formatters": {"json": {"()": "ticketing.logging.JsonFormatter"}},
    "handlers": {
        "stdout": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["stdout"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        "celery": {"level": LOG_LEVEL},
    },
}

# --- the outbox (ticketing.outbox): money-moving work recorded in Postgres ---
# A message is first due for the sweep GRACE seconds after its delay, so the
# sweep does not race the fast path (Celery) in the normal case. A run holds a
# message for LEASE seconds; a failure is retried with doubling back-off (2 s
# .. 10 min) up to MAX_ATTEMPTS times, then given up (logged at ERROR, admin
# filter). The lease is also how long a message waits after the worker running
# it was killed (kill -9, OOM): a refund must not wait minutes for that, so
# it is kept short, yet above every handler's own bound (the callback POST
# times out at 15 s, a webhook at WEBHOOK_TIMEOUT_SECONDS, SMTP at
# EMAIL_TIMEOUT), so one message is never run twice at once.
OUTBOX_SWEEP_SECONDS = env_int("OUTBOX_SWEEP_SECONDS", 5, minimum=1)
OUTBOX_GRACE_SECONDS = env_int("OUTBOX_GRACE_SECONDS", 10, minimum=0)
OUTBOX_LEASE_SECONDS = env_int("OUTBOX_LEASE_SECONDS", 40, minimum=1)
OUTBOX_MAX_ATTEMPTS = env_int("OUTBOX_MAX_ATTEMPTS", 50, minimum=1)
OUTBOX_SWEEP_BATCH = env_int("OUTBOX_SWEEP_BATCH", 100, minimum=1)
# After the commit a Celery task runs the message at once (the fast path); a
# process with no Celery (the sandbox acquirer's own) leaves it to its sweep.
OUTBOX_FAST_PATH = True
OUTBOX_KEEP_DAYS = env_int("OUTBOX_KEEP_DAYS", 7, minimum=1)

# --- Partner webhooks (partners/) ---------------------------------------------
# One POST waits this long for the partner's answer; a slower one is a failed
# attempt, retried with the outbox's back-off.
WEBHOOK_TIMEOUT_SECONDS = env_int("WEBHOOK_TIMEOUT_SECONDS", 10, minimum=1)
# Plain http:// endpoint URLs (a partner's test server on localhost): DEBUG only.
WEBHOOK_ALLOW_HTTP = env_bool("WEBHOOK_ALLOW_HTTP", DEBUG)
# Endpoints on loopback, private or link-local addresses (checked on every
# POST, after DNS, so a partner's URL cannot reach kassa's own network): DEBUG only.
WEBHOOK_ALLOW_PRIVATE_HOSTS = env_bool("WEBHOOK_ALLOW_PRIVATE_HOSTS", DEBUG)
# Partner slugs whose endpoints may be plain http:// on this machine's
# loopback (127.0.0.1, ::1, localhost) and nothing else private: the demo's
# own partner, whose example client (examples/partner_client.py) receives its
# webhooks on localhost. Empty by default; `make run` names its demo partner.
WEBHOOK_LOOPBACK_PARTNERS = env_list("WEBHOOK_LOOPBACK_PARTNERS", [])

# The buyer's one wait for the callback (orders/waits.py, GET orders/{id}/?wait=N):
# at most ORDER_WAIT_MAX_SECONDS, and at most ORDER_WAIT_SLOTS waits at a time
# per web process. A blocked request ties a thread, so waits need gunicorn's
# gthread workers (WEB_THREADS > 1, ticketing/gunicorn_conf.py); by default
# one thread of each process is always left for other requests.
ORDER_WAIT_MAX_SECONDS = env_int("ORDER_WAIT_MAX_SECONDS", 15, minimum=0)
ORDER_WAIT_SLOTS = env_int(
    "ORDER_WAIT_SLOTS", max(env_int("WEB_THREADS", 1, minimum=1) - 1, 0), minimum=0
)

# --- payments & tickets ---
# HMAC key of the sandbox gateway's callbacks; empty = derived from SECRET_KEY.
# Payment providers: name -> PaymentProvider class (payments.providers).
# A real acquirer is one more entry; payments find it here, never by import.
PAYMENT_PROVIDERS = {
    "sandbox": "payments.sandbox.SandboxProvider",
    # In-app payment confirmed by the partner (payments/on_account.py).
    "on_account": "payments.on_account.OnAccountProvider",
}
SANDBOX_GATEWAY_SECRET = env_str("SANDBOX_GATEWAY_SECRET", "")
# Pepper of the phone-based buyer key (accounts.selectors.phone_key); empty =
# derived from SECRET_KEY. Changing it makes every phone a new buyer to the
# waiting rooms and per-buyer limits of sales in progress: set it once.
BUYER_PHONE_KEY = env_str("BUYER_PHONE_KEY", "")
# Where the sandbox acquirer lives. Empty: kassa's own processes serve it under
# /sandbox-gateway/ (make run). A URL: it runs as a process of its own
# (sandbox.settings, e.g. bench/onsale.py), and kassa's processes neither
# serve its pages nor deliver its callbacks. Either way they talk over HTTP.
SANDBOX_URL = env_str("SANDBOX_URL", "").rstrip("/")
SANDBOX_SERVES = not SANDBOX_URL
# Reconciliation (payments.services.payments_reconcile): a payment
# still unsettled this long after it started is asked from its provider, then
# again with doubling back-off (capped at 1 h) up to MAX_ATTEMPTS times.
# Beat runs it every PAYMENT_RECONCILE_SECONDS.
PAYMENT_RECONCILE_SECONDS = env_int("PAYMENT_RECONCILE_SECONDS", 30, minimum=1)
PAYMENT_RECONCILE_GRACE_SECONDS = env_int("PAYMENT_RECONCILE_GRACE_SECONDS", 120, minimum=1)
PAYMENT_RECONCILE_MAX_ATTEMPTS = env_int("PAYMENT_RECONCILE_MAX_ATTEMPTS", 12, minimum=1)
PAYMENT_RECONCILE_BATCH = env_int("PAYMENT_RECONCILE_BATCH", 50, minimum=1)
# Rotating QR: a per-ticket TOTP (30 s) appended to the code; check-in accepts
# the current and previous step.
TICKET_ROTATING_QR = env_bool("TICKET_ROTATING_QR", False)

# --- accounts ----------------------------------------------------------------
# Sign-in codes: see accounts/services.py; SMS gateways plug in via accounts/sms.py.
SMS_BACKEND = env_str("SMS_BACKEND", "accounts.sms.ConsoleSmsBackend")
SMS_FILE_PATH = env_str("SMS_FILE_PATH", str(DATA_DIR / "sms"))
PHONE_DEFAULT_REGION = env_str("PHONE_DEFAULT_REGION", "KZ")
# Countries whose mobile numbers get SMS codes (empty = any; wide lists invite
# SMS-pumping fraud). Others sign in by e-mail.
PHONE_ALLOWED_REGIONS = env_list("PHONE_ALLOWED_REGIONS", ["KZ", "RU", "KG", "UZ"])
OTP_TTL_SECONDS = env_int("OTP_TTL_SECONDS", 300, minimum=30)
OTP_MAX_ATTEMPTS = env_int("OTP_MAX_ATTEMPTS", 5, minimum=1)
OTP_RESEND_SECONDS = env_int("OTP_RESEND_SECONDS", 60, minimum=0)  # gap between two codes
OTP_PER_IDENTITY_HOUR = env_int("OTP_PER_IDENTITY_HOUR", 5, minimum=1)
# Mobile carriers put many buyers behind one address (CGNAT): raise this for
# a big on-sale rather than lock out a whole carrier.
OTP_PER_IP_HOUR = env_int("OTP_PER_IP_HOUR", 20, minimum=1)
# Reverse proxies in front of Django that append to X-Forwarded-For (nginx: 1).
# The one rule for the client's address (ticketing.middleware.client_ip):
# per-IP throttles, the staff-login lockout and the logs. 0 = REMOTE_ADDR.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0, minimum=0)
# Staff sign-in (/admin/login/, the only password login) is locked for a
# username at an address after AXES_FAILURE_LIMIT wrong passwords, for the
# cool-off; a right password then is refused too (django-axes, failures kept
# in Postgres and listed in admin, where staff can lift a lockout).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses locked-out callers
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("STAFF_LOGIN_FAILURE_LIMIT", 10, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("STAFF_LOGIN_LOCKOUT_MINUTES", 15, minimum=1))
# Per username and address together: a guesser cannot lock a colleague out
# from elsewhere, and cannot go on with another name either (the per-IP API
# throttle and this limit per name bound that).
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_CLIENT_IP_CALLABLE = "ticketing.middleware.client_ip"
AXES_LOCKOUT_CALLABLE = "ticketing.views.staff_login_locked_out"
AXES_RESET_ON_SUCCESS = True
# Buyers sign in by code, not password: no access-log row per sign-in.
AXES_ONLY_ADMIN_SITE = True
AXES_DISABLE_ACCESS_LOG = True
LOGIN_URL = "/account/signin/"
LOGIN_REDIRECT_URL = "/account/tickets/"
# Two weeks; a lost or shared phone is the main risk, hence "sign out
# everywhere" on the account pages (SessionEpochMiddleware).
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 14 * 24 * 3600, minimum=300)
SESSION_EXPIRE_AT_BROWSER_CLOSE = False
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

# --- API platform ------------------------------------------------------------
from api.rates import parse_rate  # noqa: E402 - validates the rates at start-up

API_THROTTLE_PARTNER = env_str("API_THROTTLE_PARTNER", "1200/min")  # per API key
API_THROTTLE_ANON = env_str("API_THROTTLE_ANON", "300/min")  # per account or client IP
parse_rate(API_THROTTLE_PARTNER, name="API_THROTTLE_PARTNER")
parse_rate(API_THROTTLE_ANON, name="API_THROTTLE_ANON")
# Idempotency-Key records are kept this long (purged hourly by api.tasks).
API_IDEMPOTENCY_TTL_HOURS = env_int("API_IDEMPOTENCY_TTL_HOURS", 24, minimum=1)
# An attempt still "in flight" after this long is taken to have died.
API_IDEMPOTENCY_STALE_SECONDS = env_int("API_IDEMPOTENCY_STALE_SECONDS", 60, minimum=5)

# --- orders: holds and orders ----------------------------------------------
# How long a hold keeps its seats; starting payment extends it once, capped.
HOLD_MINUTES = env_int("HOLD_MINUTES", 10, minimum=1)
HOLD_PAYMENT_EXTENSION_MINUTES = env_int("HOLD_PAYMENT_EXTENSION_MINUTES", 5, minimum=0)
HOLD_MAX_MINUTES = env_int("HOLD_MAX_MINUTES", 20, minimum=1)
# The sweeper only tidies (expiry is exact without it), so 15 s is plenty.
HOLD_SWEEP_SECONDS = env_int("HOLD_SWEEP_SECONDS", 15, minimum=1)
# Channel allocations past their release_at are general stock at once (the
# take reads release_at); this task only stamps released_at and audits.
ALLOCATION_RELEASE_SECONDS = env_int("ALLOCATION_RELEASE_SECONDS", 30, minimum=1)

# --- queueing (waiting rooms) ----------------------------------------------
# The waiting rooms on a Redis Cluster: its nodes as host:port, comma-separated
# (a few are enough, the client learns the rest). Empty: on REDIS_URL with the
# caches and the broker. Each room's keys share one slot (queueing/state.py).
QUEUE_REDIS_CLUSTER = env_list("QUEUE_REDIS_CLUSTER", [])
QUEUE_SNAPSHOT_SECONDS = env_int("QUEUE_SNAPSHOT_SECONDS", 10, minimum=1)
# The pre-queue is drawn this long before the sale opens (admission still
# starts at the opening): waiting pages learn their numbers while nobody is
# buying yet, instead of 36,000 status calls landing on the first minute of
# the sale. 0 draws at the opening itself.
QUEUE_DRAW_LEAD_SECONDS = env_int("QUEUE_DRAW_LEAD_SECONDS", 60, minimum=0)
# The admission rules the Lua scripts apply (queueing/state.py passes them in
# on every call; the per-room ones, rate, capacity, pass time, grace, are the
# WaitingRoom's own, edited in admin).
# A tick admits for at most this many seconds since the previous one: after a
# stalled beat (worker restart) the room does not let a burst in at once.
QUEUE_TICK_ELAPSED_CAP_SECONDS = env_int("QUEUE_TICK_ELAPSED_CAP_SECONDS", 10, minimum=1)
# The no-show correction (rate / (1 - no-show ratio), so the shop stays full)
# starts once this many admitted visitors have claimed their pass or lapsed:
# a ratio from a handful of visitors says nothing.
QUEUE_NO_SHOW_MIN_SAMPLES = env_int("QUEUE_NO_SHOW_MIN_SAMPLES", 20, minimum=1)
# The no-show ratio is counted as at most this share (percent): at 50 the rate
# is at most doubled, however many admitted visitors never come.
QUEUE_NO_SHOW_MAX_PERCENT = env_int("QUEUE_NO_SHOW_MAX_PERCENT", 50, minimum=0)
if QUEUE_NO_SHOW_MAX_PERCENT >= 100:
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured("QUEUE_NO_SHOW_MAX_PERCENT must be below 100 (rate / (1 - ratio))")
# The rate the waits are computed from follows the admissions the ticks really
# make with this time constant (seconds), so an ETA never jumps.
QUEUE_RATE_SMOOTHING_SECONDS = env_int("QUEUE_RATE_SMOOTHING_SECONDS", 60, minimum=1)

# --- metrics ---------------------------------------------------------------
# /metrics answers loopback callers (not proxied) or `Authorization: Bearer <token>`.
METRICS_TOKEN = env_str("METRICS_TOKEN", "")

# --- celery: the ticks queue -----------------------------------------------
# Periodic, short tasks run on their own queue and worker (launcher: `ticks`,
# --pool solo): behind slow payment callbacks on the main worker the 1 s
# admission tick waited ~20 s and the room admitted in steps.
# The ticks queue is "<CELERY_QUEUE>-ticks" (ticketing.celery.route_ticks).
CELERY_TICKS_TASKS = ("queueing.tasks.admission_tick", "orders.tasks.sweep_expired_holds")
# Celery's routine lines about these (three a second for the tick) stay out of the logs.
LOGGING["filters"]["routine_tasks"] = {
    "()": "ticketing.logging.RoutineTaskFilter",
    "tasks": CELERY_TICKS_TASKS,
}
LOGGING["handlers"]["stdout"]["filters"].append("routine_tasks")
CELERY_TASK_ROUTES = ("ticketing.celery.route_ticks",)
# Every periodic task, in one place (the tasks modules only define tasks). A
# run still queued when the next is due is dropped ("expires"): the next one
# covers its interval, so late runs never pile up.
CELERY_BEAT_SCHEDULE = {
    # The ticks queue: the waiting rooms' admission, and the hold sweeper.
    "queue-admission-tick": {
        "task": "queueing.tasks.admission_tick",
        "schedule": 1.0,
        "options": {"expires": 2},
    },
    "orders.sweep_expired_holds": {
        "task": "orders.tasks.sweep_expired_holds",
        "schedule": HOLD_SWEEP_SECONDS,
        "options": {"expires": HOLD_SWEEP_SECONDS},
    },
    # The main queue (these do HTTP and SMTP: not ticks).
    "ticketing.outbox_sweep": {
        "task": "ticketing.outbox_sweep",
        "schedule": OUTBOX_SWEEP_SECONDS,
        "options": {"expires": OUTBOX_SWEEP_SECONDS},
    },
    "orders.payments_reconcile": {
        "task": "orders.payments_reconcile",
        "schedule": PAYMENT_RECONCILE_SECONDS,
        "options": {"expires": PAYMENT_RECONCILE_SECONDS},
    },
    "events.allocations_release_due": {
        "task": "events.allocations_release_due",
        "schedule": ALLOCATION_RELEASE_SECONDS,
        "options": {"expires": ALLOCATION_RELEASE_SECONDS},
    },
    # Housekeeping, hourly.
    "ticketing.outbox_purge": {
        "task": "ticketing.outbox_purge",
        "schedule": 3600,
        "options": {"expires": 3600},
    },
    "api-idempotency-purge": {"task": "api.tasks.idempotency_purge", "schedule": 3600.0},
    "api-webview-token-purge": {"task": "api.tasks.webview_token_purge", "schedule": 3600.0},
    "accounts.codes_purge": {"task": "accounts.codes_purge", "schedule": 3600},
}

# --- security headers (check --deploy clean with SECURE_COOKIES=true) --------
from csp.constants import NONCE, NONE, SELF, UNSAFE_INLINE  # noqa: E402

# Partner origins whose apps show the buyer pages in a webview (iframe);
# empty = nobody may frame the site. Staff admin is never framed.
FRAME_ANCESTORS = env_list("FRAME_ANCESTORS", [])
X_FRAME_OPTIONS = "DENY"
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        # Scripts: our static files, and inline blocks carrying this request's
        # nonce (templates: nonce="{{ request.csp_nonce }}"); no inline handlers.
        "script-src": [SELF, NONCE],
        # Inline style attributes stay allowed: the tier colours (staff-entered,
        # per event) are painted with style="background: ..." on the event and
        # standing pages, Swagger UI's page has a <style> block and the admin
        # uses style attributes. Styles cannot run code; scripts stay strict.
        "style-src": [SELF, UNSAFE_INLINE],
        # data: for Swagger UI's icons (SVG data URIs in its stylesheet).
        "img-src": [SELF, "data:"],
        "object-src": [NONE],
        "base-uri": [SELF],
        # No form-action: Chromium applies it to the redirect after a POST, and
        # the pay form redirects to the acquirer's own page.
        "frame-ancestors": FRAME_ANCESTORS or [NONE],
    },
}
# HSTS only when the site is served over HTTPS (SECURE_COOKIES=true): a year,
# subdomains included unless HSTS_INCLUDE_SUBDOMAINS=false; preload is opt-in.
SECURE_HSTS_SECONDS = env_int("HSTS_SECONDS", 365 * 24 * 3600, minimum=0) if SECURE_COOKIES else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("HSTS_PRELOAD", False)
LANGUAGE_COOKIE_SECURE = SECURE_COOKIES
SILENCED_SYSTEM_CHECKS = [
    # SECURE_SSL_REDIRECT: the http -> https redirect belongs to the TLS
    # terminator (the proxy in front), the only one that sees plain HTTP; Django
    # redirecting behind a proxy that does not send X-Forwarded-Proto loops.
    "security.W008",
    # SECURE_HSTS_PRELOAD: a commitment the domain's owner makes at
    # hstspreload.org (hard to undo); HSTS_PRELOAD=true once they have.
    "security.W021",
]
