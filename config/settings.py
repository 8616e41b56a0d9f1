"""Beacon settings: everything comes from environment variables (see .env.example).

With DEBUG=true (`make run`, `make test`) a fresh checkout runs with no servers: SQLite in WAL
mode and a filesystem broker, both under var/. Production (the default) must set DATABASE_URL
(PostgreSQL) and CELERY_BROKER_URL (Redis), among others: see docs/deploy.md.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from common.logging import FORMATTERS
from config.broker import use_for_filesystem_urls
from config.env import env_bool, env_int, env_list, env_rate, env_required, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("BEACON_VAR_DIR", str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

# Production is the default: a process started without DEBUG=true finds no embedded fallback
# and refuses to start without SECRET_KEY, DATABASE_URL, CELERY_BROKER_URL and BEACON_PUBLIC_URL.
# `make run` and `make test` set DEBUG=true (Makefile), and with it SQLite and a broker under var/.
DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_required(
    "SECRET_KEY", "insecure-development-key-set-SECRET_KEY-in-production", debug=DEBUG
)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"])

INSTALLED_APPS = [
    "dashboard.apps.BeaconAdminConfig",  # django.contrib.admin with Beacon's site
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "corsheaders",
    "axes",  # admin login lockout (below)
    "anymail",  # its system checks of the ANYMAIL settings (ESP webhooks: campaigns/esp_urls.py)
    "contacts",
    "events",
    "segments",
    "campaigns",
    "transfers",  # import and export of contacts and events (CSV, JSON Lines)
    "dashboard.apps.DashboardConfig",
    "monitoring",
]

MIDDLEWARE = [
    # First: probes answer before the host check and the HTTPS redirect (monitoring/middleware.py).
    "monitoring.middleware.HealthProbeMiddleware",
    "monitoring.middleware.RequestLogMiddleware",  # one line a request
    # A page that fails because the database is down answers 503 + Retry-After, not a 500.
    "monitoring.middleware.DatabaseUnavailableMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Before WhiteNoise and CommonMiddleware, which answer without calling what follows: CORS
    # headers on the SDK's static files, and preflights.
    "corsheaders.middleware.CorsMiddleware",
    # Static files from the web process itself (the admin's CSS and JS, the SDK, the API docs):
    # no separate file server to set up. Compressed and hashed by collectstatic in production.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",  # last, as axes asks: it renders the lockout (below)
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]


def _database_config() -> dict:
    url = env_required("DATABASE_URL", f"sqlite:///{VAR_DIR / 'beacon.sqlite3'}", debug=DEBUG)
    try:
        config = dj_database_url.parse(url, conn_max_age=600, conn_health_checks=True)
    except ValueError as exc:
        raise ImproperlyConfigured(f"DATABASE_URL={url!r} is not a database URL: {exc}") from None
    if config["ENGINE"] == "django.db.backends.sqlite3":
        # WAL lets the web server and the worker share the file; IMMEDIATE transactions take
        # the write lock up front instead of failing on a lock upgrade.
        config["CONN_MAX_AGE"] = 0
        config["OPTIONS"] = {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        }
        # Tests use a file too (not shared-cache memory), so WAL and the busy timeout apply as
        # they do under `make run`, and concurrent-ingest tests see real locking. One file per
        # test process, so that parallel runs never share one.
        config["TEST"] = {"NAME": str(VAR_DIR / f"test-{os.getpid()}.sqlite3")}
    elif config["ENGINE"] == "django.db.backends.postgresql":
        # Django turns psycopg's prepared statements off (for transaction-pooling pgbouncers).
        # Ingest's hot statements bind server-side and run thousands of times a minute: once one
        # has run this many times on a connection it is prepared, and PostgreSQL stops parsing
        # and planning it each time. 0 turns them off again (behind such a pooler).
        threshold = env_int("DATABASE_PREPARE_THRESHOLD", 5)
        config.setdefault("OPTIONS", {})["prepare_threshold"] = threshold or None
        config["ENGINE"] = "config.postgresql"  # health checks without a round trip
    else:
        raise ImproperlyConfigured("DATABASE_URL must be a sqlite:// or postgres:// URL")
    return config


DATABASES = {"default": _database_config()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Admin login lockout (django-axes, docs/deploy.md): after AXES_FAILURE_LIMIT wrong passwords for
# one username from one client IP, that pair is refused (429, templates/admin/locked_out.html)
# for AXES_COOLOFF_TIME. Keyed on the pair, so an attacker elsewhere can't lock an admin out.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: it refuses a locked-out pair before the check
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True  # a typo or two, then the right password, starts from zero again
AXES_LOCKOUT_TEMPLATE = "admin/locked_out.html"
# The client IP: REMOTE_ADDR, unless CLIENT_IP_HEADER names the header a reverse proxy sets to the
# address it received the request from (nginx: `X-Forwarded-For $remote_addr`, docs/deploy.md).
# Trust it only behind such a proxy: any client could otherwise pick the IP it is counted under.
_client_ip_header = env_str("CLIENT_IP_HEADER", "")
AXES_IPWARE_META_PRECEDENCE_ORDER = (
    ["HTTP_" + _client_ip_header.upper().replace("-", "_"), "REMOTE_ADDR"]
    if _client_ip_header
    else ["REMOTE_ADDR"]
)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
# Production serves what `collectstatic` wrote: hashed names, cached for ever by browsers, with
# gzip and brotli copies. The SDK's own URL (/static/beacon/beacon.js, pasted into customers'
# pages) keeps its unhashed name and WhiteNoise's short max-age, so an upgrade reaches them.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "config.storage.StaticStorage"
    },
}
WHITENOISE_MAX_AGE = env_int("WHITENOISE_MAX_AGE", 300)
# Development (and `make test`): the apps' static folders as they are, no collectstatic.
WHITENOISE_USE_FINDERS = WHITENOISE_AUTOREFRESH = DEBUG

# HTTPS. Safe by default in production; each can be turned off for a deployment that needs it.
# Behind a TLS-terminating proxy, name the header it sets (X-Forwarded-Proto), or every request
# looks like plain http and SECURE_SSL_REDIRECT loops.
_proxy_header = env_str("SECURE_PROXY_SSL_HEADER", "")
if _proxy_header:
    SECURE_PROXY_SSL_HEADER = ("HTTP_" + _proxy_header.upper().replace("-", "_"), "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not DEBUG)

# Django's own body limit (DATA_UPLOAD_MAX_MEMORY_SIZE, 2.5 MB) guards every view, the admin's
# included. The API is not bound by it: its parser (config/api.FastJSONParser) reads the request's
# stream, never request.body, up to each view's max_body_bytes (10 MB for a batch), then 413.
DATA_UPLOAD_MAX_NUMBER_FIELDS = 10_000

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["contacts.api.auth.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["contacts.api.auth.HasAdminScope"],
    "DEFAULT_PARSER_CLASSES": ["config.api.FastJSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "config.api.Pagination",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "config.api.exception_handler",
    "UNAUTHENTICATED_USER": None,
    # Rate limits (docs/operations.md): per API key at its scope's rate, and per client IP for
    # requests without a valid key (bad keys, /push/opened); 429 with Retry-After once over.
    # "<requests>/<s|m|h|d>", or "off". Counted in the cache below (config/throttling.py).
    "DEFAULT_THROTTLE_CLASSES": ["contacts.api.auth.ApiKeyRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "ingest": env_rate("API_RATE_INGEST", "60000/m"),
        "admin": env_rate("API_RATE_ADMIN", "30000/m"),
        "anonymous": env_rate("API_RATE_ANONYMOUS", "600/m"),
    },
}


def _cache_config() -> dict:
    """Redis from CACHE_URL (every process and host counts rate limits together); unset, each
    process's own memory (`make run`, tests: a limit then holds per process)."""
    url = env_str("CACHE_URL", "")
    if not url:
        return {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    if not url.startswith(("redis://", "rediss://")):
        raise ImproperlyConfigured(f"CACHE_URL={url!r}: use redis:// or rediss://, or nothing")
    return {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": url,
        "KEY_PREFIX": "beacon",
        # A Redis that is down or hangs costs a request at most this, once per few seconds
        # (config/throttling.py stops asking after a failure); the limits are then off.
        "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
    }


CACHES = {"default": _cache_config()}

SPECTACULAR_SETTINGS = {
    "TITLE": "Beacon API",
    "DESCRIPTION": "Event tracking, contacts, segments and web push campaigns.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Operation ids and tags from the path after /api/v1 (detected as the common prefix until
    # Segment's API came at /v1/, docs/segment-spec.md).
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    # Every operation's error statuses and the one error shape (config/openapi.py).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "config.openapi.document_errors",
    ],
}

# CORS: customers' pages on any origin call the tracking API and the push endpoints with their
# ingest key (a Bearer header, never a cookie), and may load the SDK from Beacon. Only those paths:
# the admin API must never answer a cross-origin browser request (/push/policy and
# /push/credentials are admin endpoints under the same prefix).
CORS_URLS_REGEX = (
    r"^/(api/v1/events(/batch)?|api/v1/push/(config|opened)|static/beacon/.*|beacon-sw\.js)$"
)
CORS_ALLOW_ALL_ORIGINS = True
CORS_ALLOW_CREDENTIALS = False
# The SDK waits as long as a 429 or 503 says; browsers hide the header from it unless exposed.
CORS_EXPOSE_HEADERS = ["Retry-After"]

# Celery: Redis in production, a serverless filesystem broker in development (DEBUG=true).
BROKER_DIR = VAR_DIR / "broker"
CELERY_BROKER_URL = env_required("CELERY_BROKER_URL", "filesystem://", debug=DEBUG)
if CELERY_BROKER_URL.startswith("filesystem://"):
    # kombu's own filesystem transport loses messages under concurrent producers (config/broker.py).
    use_for_filesystem_urls()
    for sub in ("queue", "processed", "control"):
        (BROKER_DIR / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "processed_folder": str(BROKER_DIR / "processed"),  # same filesystem: claims are renames
        "store_processed": False,
        "control_folder": str(BROKER_DIR / "control"),  # kombu's default is relative to the cwd
        "polling_interval": 0.1,  # an idle worker looks every 0.1 s (kombu: 1 s): prompt nudges
    }
elif CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    # A broker outage must not hold requests (docs/reliability.md, "Broker down"): a connection
    # that fails is not retried within the call, and a Redis that stops answering without closing
    # the connection fails a publish within a second instead of never.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "max_retries": 0,  # kombu's reconnect loop: ~6 s per publish with the default 4 s timeout
        "socket_connect_timeout": 1,
        "socket_timeout": 1,
    }
elif not CELERY_BROKER_URL.startswith("amqp://"):
    raise ImproperlyConfigured(
        f"CELERY_BROKER_URL={CELERY_BROKER_URL!r}: use redis://, amqp:// or filesystem://"
    )
# Every task we publish nudges durable work that a periodic sweep (or a delivery's lease) redoes,
# so a publish is one attempt: Celery's default retries held each request 0.6 s while Redis was
# down. common/nudges.py also stops trying for a few seconds after a failure.
CELERY_TASK_PUBLISH_RETRY = False
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = "UTC"
# Celery's Django fixup closes the database connection after every task unless told to reuse
# it: a new PostgreSQL connection per trigger or send task cost more than the task itself.
CELERY_DB_REUSE_MAX = 100
# Push sending on a queue of its own (workers for it: `celery worker -Q <name>`), so a broadcast
# never delays trigger matching and claims; empty: the default queue.
PUSH_QUEUE = env_str("PUSH_QUEUE", "")
if PUSH_QUEUE:
    CELERY_TASK_ROUTES = {"campaigns.tasks.deliveries_send_task": {"queue": PUSH_QUEUE}}

# Product limits.
EVENT_RETENTION_DAYS = env_int("EVENT_RETENTION_DAYS", 90, minimum=1)
TRIGGER_MAX_AGE_HOURS = env_int("TRIGGER_MAX_AGE_HOURS", 72, minimum=0)
SEGMENTATION_MAX_EVENTS = env_int("SEGMENTATION_MAX_EVENTS", 50, minimum=1)
# How often every segment is fully recomputed (time passing changes memberships).
SEGMENT_REFRESH_SECONDS = env_int("SEGMENT_REFRESH_SECONDS", 60, minimum=5)

# Web push (VAPID). Unset keys: one pair in the database, for every host (campaigns/vapid.py).
VAPID_PUBLIC_KEY = env_str("VAPID_PUBLIC_KEY", "")  # URL-safe base64 of the P-256 point
VAPID_PRIVATE_KEY = env_str("VAPID_PRIVATE_KEY", "")  # URL-safe base64 of the raw key, or PEM
VAPID_SUBJECT = env_str("VAPID_SUBJECT", "mailto:admin@localhost")
# Browsers hand out https endpoints only; local push services in tests and dev speak http.
WEBPUSH_ALLOW_HTTP_LOCALHOST = env_bool("WEBPUSH_ALLOW_HTTP_LOCALHOST", DEBUG)
if bool(VAPID_PUBLIC_KEY) != bool(VAPID_PRIVATE_KEY):
    raise ImproperlyConfigured("Set both VAPID_PUBLIC_KEY and VAPID_PRIVATE_KEY, or neither")
if not VAPID_SUBJECT.startswith(("mailto:", "https://")):
    raise ImproperlyConfigured(
        f"VAPID_SUBJECT={VAPID_SUBJECT!r} must start with mailto: or https://"
    )

# Mobile push (campaigns/providers/fcm.py, apns.py, onesignal.py) posts only to these bases,
# overridable for tests and private gateways; redirects are never followed.
FCM_BASE_URL = env_str("FCM_BASE_URL", "https://fcm.googleapis.com")
FCM_TOKEN_URL = env_str("FCM_TOKEN_URL", "https://oauth2.googleapis.com/token")  # OAuth2 tokens
APNS_BASE_URL = env_str("APNS_BASE_URL", "https://api.push.apple.com")
APNS_SANDBOX_BASE_URL = env_str("APNS_SANDBOX_BASE_URL", "https://api.sandbox.push.apple.com")
ONESIGNAL_BASE_URL = env_str("ONESIGNAL_BASE_URL", "https://api.onesignal.com")
for _name in (
    "FCM_BASE_URL",
    "FCM_TOKEN_URL",
    "APNS_BASE_URL",
    "APNS_SANDBOX_BASE_URL",
    "ONESIGNAL_BASE_URL",
):
    if not globals()[_name].startswith(("https://", "http://")):
        raise ImproperlyConfigured(f"{_name}={globals()[_name]!r} must be an http(s) URL")
# Fernet keys (URL-safe base64 of 32 bytes, comma-separated: the first encrypts, all decrypt) for
# the per-app push credentials at rest (campaigns/credentials.py). Unset: stored credentials are
# refused in production; with DEBUG=true a key derived from SECRET_KEY is used.
PUSH_CREDENTIALS_KEYS = env_list("PUSH_CREDENTIALS_KEYS", [])

# Email (campaigns/providers/email.py): Django's SMTP backend with these settings, or an ESP's
# django-anymail backend (EMAIL_BACKEND=anymail.backends.postmark.EmailBackend, ...) whose
# settings are the ANYMAIL_* variables (ANYMAIL_POSTMARK_SERVER_TOKEN=...); docs/email.md.
# With DEBUG (make run), emails are written to var/emails/ unless EMAIL_BACKEND says otherwise.
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.filebased.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_FILE_PATH = VAR_DIR / "emails"
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)  # STARTTLS (port 587)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)  # TLS from the start (port 465)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10, minimum=1)
if EMAIL_USE_TLS and EMAIL_USE_SSL:
    raise ImproperlyConfigured("Set EMAIL_USE_TLS or EMAIL_USE_SSL, not both")
ANYMAIL = {
    name.removeprefix("ANYMAIL_"): value
    for name, value in os.environ.items()
    if name.startswith("ANYMAIL_")
}

# Where browsers reach Beacon: the service worker reports opens to this base URL.
BEACON_PUBLIC_URL = env_required("BEACON_PUBLIC_URL", "http://127.0.0.1:8000", debug=DEBUG)
# Admin forms posted through a proxy that rewrites Host still pass the CSRF origin check.
CSRF_TRUSTED_ORIGINS = env_list(
    "CSRF_TRUSTED_ORIGINS", ["{0.scheme}://{0.netloc}".format(urlsplit(BEACON_PUBLIC_URL))]
)
# A delivery claimed longer ago than this is taken back and retried (its worker died). Longer
# than a send task can take: CLAIM_BATCH pushes, PUSH_SEND_CONCURRENCY at a time, each bounded
# by the push timeout.
DELIVERY_LEASE_SECONDS = env_int("DELIVERY_LEASE_SECONDS", 120, minimum=2)
PUSH_SEND_CONCURRENCY = env_int("PUSH_SEND_CONCURRENCY", 8, minimum=1)
PUSH_TIMEOUT_SECONDS = env_int("PUSH_TIMEOUT_SECONDS", 10, minimum=1)

# Where `make run` keeps the demo credentials so they can be shown at every start (dev only).
DEMO_CREDENTIALS_FILE = VAR_DIR / "demo-credentials.json"

# Metrics and logs (docs/operations.md).
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
# /metrics answers 404 while unset; Prometheus sends `Authorization: Bearer <token>`.
METRICS_TOKEN = env_str("METRICS_TOKEN", "")
# text, or json: one JSON object per line.
LOG_FORMAT = env_str("LOG_FORMAT", "text")
if LOG_FORMAT not in FORMATTERS:
    raise ImproperlyConfigured(f"LOG_FORMAT={LOG_FORMAT!r}: use text or json")
# One line per request and per task at INFO, whatever LOG_LEVEL says; false: only past LOG_LEVEL.
LOG_REQUESTS = env_bool("LOG_REQUESTS", True)
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"beacon": {"()": FORMATTERS[LOG_FORMAT]}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "beacon"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "WARNING")},
    "loggers": {
        # Django's own console handler (DEBUG only) would print its lines twice, unformatted.
        "django": {"handlers": [], "level": "INFO"},
        **{
            name: {"level": "INFO" if LOG_REQUESTS else "NOTSET"}
            for name in ("beacon.request", "beacon.task")
        },
    },
}
# Workers keep the handler above (and so LOG_FORMAT) instead of Celery's own.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
