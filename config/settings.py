"""The one settings module. Every deployment-specific value comes from the environment;
`.env.example` documents each variable."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from config.logging import django_logging

BASE_DIR = Path(__file__).resolve().parent.parent


def env(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env(name, default).split(",") if item.strip()]


DEBUG = env_bool("DJANGO_DEBUG")

SECRET_KEY = env("DJANGO_SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off (see .env.example)."
        )
    SECRET_KEY = "insecure-development-key-never-use-in-production"  # noqa: S105

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

# HTTPS hardening: on by default outside DEBUG; DJANGO_HTTPS=0 for plain-HTTP local serving.
HTTPS = env_bool("DJANGO_HTTPS", default=not DEBUG)
SECURE_SSL_REDIRECT = HTTPS
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_HSTS_SECONDS = int(env("DJANGO_HSTS_SECONDS", "31536000")) if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = HTTPS
# Behind a TLS-terminating proxy or load balancer that sets X-Forwarded-Proto.
if env_bool("DJANGO_BEHIND_PROXY"):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
# Everything the admin and the API documentation load comes from this origin (no CDN).
SECURE_CSP = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    # Swagger UI and Redoc set element styles at run time.
    "style-src": ["'self'", "'unsafe-inline'"],
    "img-src": ["'self'", "data:"],
    "font-src": ["'self'", "data:"],
    "worker-src": ["'self'", "blob:"],
    "connect-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
}

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "pgtrigger",
    "pghistory",
    "pghistory.admin",
    "import_export",
    "axes",
    "django_tasks_db",
    "config.api",
    "strategy",
    "legislation",
    "measures",
    "webhooks",
    "reader",
]

MIDDLEWARE = [
    # First, so that every response (redirects and errors included) carries the request id
    # and every log line of the request names it.
    "config.middleware.RequestIdMiddleware",
    "config.middleware.ProbeMiddleware",
    "config.middleware.PrimaryDatabaseMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "config.middleware.StaticFilesMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "config.middleware.VaryOnCookieMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.http.ConditionalGetMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "pghistory.middleware.HistoryMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    # Innermost: a POST with an Idempotency-Key runs in one transaction with its record.
    "config.api.idempotency.IdempotencyMiddleware",
    # Refuses a sign-in after repeated failures (below); django-axes wants it last.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
CSRF_FAILURE_VIEW = "config.api.problems.csrf_failure"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

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


# Database: PostgreSQL only. DATABASE_URL wins; without it, the project-local server that
# `make run` / `make test` start (config/localdb.py) is used if it is running.
def _database_url() -> str:
    url = env("DATABASE_URL")
    if url:
        return url
    from config.localdb import running_url

    url = running_url() or ""
    if not url:
        raise ImproperlyConfigured(
            "DATABASE_URL is not set and the project-local PostgreSQL is not running. "
            "Set DATABASE_URL, or start the local server with `make db`."
        )
    return url


# Persistent connections with a health check, not a connection pool: a gunicorn sync worker
# serves one request at a time, so one connection kept open per worker is all a pool could
# give it, and a pool would hold idle connections in every worker. The number of
# connections is workers x app servers; to go past the server's max_connections, put
# PgBouncer in front (docs/scaling.md).
def _database(url: str) -> dict[str, Any]:
    database: dict[str, Any] = dict(
        dj_database_url.parse(
            url,
            conn_max_age=int(env("DATABASE_CONN_MAX_AGE", "60")),
            conn_health_checks=True,
        )
    )
    if database["ENGINE"] != "django.db.backends.postgresql":
        raise ImproperlyConfigured(
            "The tracker runs on PostgreSQL only: database URLs must be postgres://"
        )
    # PgBouncer in transaction mode cannot keep a server-side cursor between transactions.
    database["DISABLE_SERVER_SIDE_CURSORS"] = env_bool("DATABASE_DISABLE_SERVER_SIDE_CURSORS")
    options = database.setdefault("OPTIONS", {})
    # A server that does not answer fails the request within seconds (503), and a runaway
    # query is cut off rather than holding a worker.
    options.setdefault("connect_timeout", int(env("DATABASE_CONNECT_TIMEOUT", "5")))
    # JIT compilation off: PostgreSQL costs the status subqueries of a CASE as if every row
    # ran them, so a strategy's summary (estimated far above jit_above_cost, run in about
    # 2 ms) spent 10 s compiling expressions it then ran once (docs/performance.md).
    # pgtrigger.ignore as an empty list, "no trigger is ignored", which is what its absence
    # means: every trigger of pgtrigger and django-pghistory first asks whether it is to be
    # ignored, and with the setting absent that question raises and catches an error in
    # PostgreSQL, a subtransaction for each row written (60 of the 110 us an audited row's
    # insert took, docs/performance.md).
    options["options"] = (
        f"-c statement_timeout={int(env('DATABASE_STATEMENT_TIMEOUT_MS', '30000'))} -c jit=off"
        " -c pgtrigger.ignore={}"
    )
    # The API's prepared reads (config/api/prepared.py) become prepared statements of the
    # connection from their second run, so PostgreSQL plans each once; the ORM's own queries
    # are never prepared (their parameters are bound on the client). PgBouncer in
    # transaction mode before 1.21 cannot keep them: DATABASE_PREPARED_STATEMENTS=0.
    if env_bool("DATABASE_PREPARED_STATEMENTS", default=True):
        options.setdefault("prepare_threshold", 1)
    return database


DATABASES = {"default": _database(_database_url())}
# One test database per test process, so that two suites on one server never collide.
DATABASES["default"]["TEST"] = {"NAME": env("DATABASE_TEST_NAME", f"test_tracker_{os.getpid()}")}
# Read replicas (config/routers.py): reads that may lag a little go to one of these.
DATABASE_REPLICAS: list[str] = []
for number, replica_url in enumerate(env_list("DATABASE_REPLICA_URLS"), start=1):
    alias = f"replica_{number}"
    DATABASES[alias] = _database(replica_url)
    # Tests read the replicas' data from the test database itself.
    DATABASES[alias]["TEST"] = {"MIRROR": "default"}
    DATABASE_REPLICAS.append(alias)
DATABASE_ROUTERS = ["config.routers.PrimaryReplicaRouter"]

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Signing in to the admin: django-axes locks a username out, from the address that failed,
# after AXES_FAILURE_LIMIT wrong passwords in a row, for AXES_COOLOFF_TIME hours (429);
# a success resets the count. API tokens are not passwords and are not counted.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = int(env("ADMIN_LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = float(env("ADMIN_LOGIN_COOLOFF_HOURS", "0.25"))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# The client's address: the connection's, or behind the proxies that DRF's throttling counts
# (DJANGO_NUM_PROXIES). X-Forwarded-For is believed only then: otherwise a client could name
# a new address with every attempt.
if int(env("DJANGO_NUM_PROXIES", "0")):
    AXES_IPWARE_PROXY_COUNT = int(env("DJANGO_NUM_PROXIES"))
    AXES_IPWARE_META_PRECEDENCE_ORDER = ["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"]
else:
    AXES_IPWARE_META_PRECEDENCE_ORDER = ["REMOTE_ADDR"]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "Europe/London"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        # Hashed, compressed files in production (after collectstatic); plain names in
        # DEBUG and in tests (DJANGO_STATIC_MANIFEST=0), where files come from the finders.
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if not DEBUG and env_bool("DJANGO_STATIC_MANIFEST", True)
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

# Where collectstatic writes; the image collects at build time into the default.
if env("DJANGO_STATIC_ROOT"):
    STATIC_ROOT = Path(env("DJANGO_STATIC_ROOT"))

# How long a POST's Idempotency-Key and its response are kept: a retry within this many hours
# replays the response; `manage.py purge_idempotency_keys` deletes older records.
IDEMPOTENCY_KEY_RETENTION_HOURS = int(env("IDEMPOTENCY_KEY_RETENTION_HOURS", "24"))

# Request limits: a body over DATA_UPLOAD_MAX_MEMORY_SIZE is refused with 413.
DATA_UPLOAD_MAX_MEMORY_SIZE = int(env("DJANGO_MAX_BODY_BYTES", str(1024 * 1024)))
DATA_UPLOAD_MAX_NUMBER_FIELDS = 1000

# A shared cache (Redis) when REDIS_URL is set, so throttles and hot reads are shared by all
# app processes; otherwise a per-process memory cache.
if env("REDIS_URL"):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": env("REDIS_URL"),
            # Distinct per deployment when several share one Redis server.
            "KEY_PREFIX": env("CACHE_KEY_PREFIX", "tracker"),
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Background work (webhook deliveries) runs on Django's Tasks framework. The default backend
# keeps the queue in PostgreSQL, so `manage.py run_worker` needs nothing else installed;
# TASKS_BACKEND names another (docs/webhooks.md).
TASKS = {
    "default": {
        "BACKEND": env("TASKS_BACKEND", "django_tasks_db.DatabaseBackend"),
        "QUEUES": ["default"],
    }
}

# Webhooks (docs/webhooks.md). The public address of this API, for the links in a delivery.
PUBLIC_BASE_URL = env("PUBLIC_BASE_URL", "http://localhost:8000")
# Networks a webhook target may be in although not public, comma-separated CIDRs, e.g.
# 127.0.0.0/8,::1/128 for a receiver on this machine. Empty: only public addresses.
WEBHOOK_ALLOWED_TARGET_NETWORKS = env_list("WEBHOOK_ALLOWED_TARGET_NETWORKS")
# Seconds a receiver has to connect and to answer each read.
WEBHOOK_TIMEOUT_SECONDS = float(env("WEBHOOK_TIMEOUT_SECONDS", "5"))
# The first retry's delay in seconds; each next one is three times longer, at most 8 hours.
WEBHOOK_RETRY_BASE_SECONDS = float(env("WEBHOOK_RETRY_BASE_SECONDS", "30"))
# Attempts before a delivery has failed and its subscription is paused (10: about a day).
WEBHOOK_MAX_ATTEMPTS = int(env("WEBHOOK_MAX_ATTEMPTS", "10"))
# A pending delivery overdue by this many seconds is queued again (its task was lost).
WEBHOOK_SWEEP_AFTER_SECONDS = float(env("WEBHOOK_SWEEP_AFTER_SECONDS", "300"))

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["config.api.permissions.ModelPermissionsOrReadOnly"],
    # JSON only: form parsers make code generators emit clients that cannot send JSON.
    "DEFAULT_PARSER_CLASSES": ["config.api.parsers.JSONParser"],
    # JSON unless a browser asks for HTML (config/api/browsable.py).
    "DEFAULT_RENDERER_CLASSES": [
        "config.api.renderers.JSONRenderer",
        "config.api.browsable.ReadableAPIRenderer",
    ],
    # Filtering and pagination are set on the API's base view set (config/api/views.py).
    "DEFAULT_SCHEMA_CLASS": "config.api.schema.TrackerAutoSchema",
    "EXCEPTION_HANDLER": "config.api.problems.api_exception_handler",
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env("API_THROTTLE_ANON", "600/minute") or None,
        "user": env("API_THROTTLE_USER", "1200/minute") or None,
    },
    "NUM_PROXIES": int(env("DJANGO_NUM_PROXIES", "0")),
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}

SPECTACULAR_SETTINGS = {
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "config.api.schema.reference_parameter_enums",
        "config.api.schema.public_reads_need_no_credentials",
    ],
    "TITLE": "Policy Measure Tracker API",
    "DESCRIPTION": (
        "Follow government policy measures from announcement to delivery: the stage each "
        "measure has reached and when, the money announced, allocated and spent, and the "
        "evidence behind every fact."
    ),
    "VERSION": "1.0.0",
    "OAS_VERSION": "3.1.0",
    "LICENSE": {"name": "MIT", "identifier": "MIT"},
    "CONTACT": {
        "name": env("API_CONTACT_NAME", "Policy Measure Tracker maintainers"),
        **({"url": env("API_CONTACT_URL")} if env("API_CONTACT_URL") else {}),
        **({"email": env("API_CONTACT_EMAIL")} if env("API_CONTACT_EMAIL") else {}),
    },
    # Where clients send requests by default. A deployment names itself with API_SERVER_URL;
    # the committed document names `make run` on the developer's machine.
    "SERVERS": [
        {
            "url": env("API_SERVER_URL", "http://127.0.0.1:8000"),
            "description": env("API_SERVER_DESCRIPTION", "The tracker served by `make run`"),
        }
    ],
    "TAGS": [
        {
            "name": "measures",
            "description": "The commitments of strategies, with their stage, verdict and "
            "delivery confidence now or on any date, and their timelines of status events.",
        },
        {
            "name": "strategies",
            "description": "Published government plans, with a summary of their measures "
            "and money and a diff between two dates.",
        },
        {
            "name": "funding-lines",
            "description": "Money figures, one per phase: announced, allocated, committed, "
            "disbursed, spent.",
        },
        {
            "name": "organisations",
            "description": "Departments, police forces and others that lead, fund or "
            "receive measures.",
        },
        {
            "name": "sources",
            "description": "The evidence cited by every status event and funding line.",
        },
        {
            "name": "bills",
            "description": "Bills before Parliament, with their dated stages in each House "
            "and the Act each became.",
        },
        {
            "name": "provisions",
            "description": "Sections and schedules of Acts, with their territorial extent "
            "and the measures they carry.",
        },
        {
            "name": "commencements",
            "description": "Instruments bringing provisions into force: on a date, in some "
            "nations, and for a pilot in an area until a date.",
        },
        {
            "name": "changes",
            "description": "The change feed: everything recorded after a point, in order, "
            "to keep a copy in sync.",
        },
        {
            "name": "webhooks",
            "description": "Your subscriptions to changes, POSTed to your URL as they are "
            "recorded and signed by the Standard Webhooks scheme, with a log of every "
            "delivery (docs/webhooks.md).",
        },
    ],
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v[0-9]+",
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "ENUM_NAME_OVERRIDES": {
        "StageEnum": "measures.choices.Stage",
        "VerdictEnum": "measures.choices.Verdict",
        "ConfidenceEnum": "measures.choices.Confidence",
        "AxisEnum": "measures.choices.Axis",
        "InstrumentEnum": "measures.choices.Instrument",
        "FundingPhaseEnum": "measures.choices.FundingPhase",
        "FundingNoveltyEnum": "measures.choices.FundingNovelty",
        "OrganisationKindEnum": "strategy.choices.OrganisationKind",
        "SourceKindEnum": "strategy.choices.SourceKind",
        "WebhookEventTypeEnum": "strategy.changes.ChangeKind",
        "DeliveryStatusEnum": "webhooks.choices.DeliveryStatus",
        "StatusValueEnum": "measures.serializers.STATUS_VALUES",
        "ChangeKindEnum": ["measure", "status_event", "funding_line"],
        "DatePrecisionEnum": "legislation.choices.DatePrecision",
        "ExtentEnum": "legislation.choices.Extent",
        "HouseEnum": "legislation.choices.House",
        "BillStageKindEnum": "legislation.choices.BillStageKind",
    },
    "ENUM_ADD_EXPLICIT_BLANK_NULL_CHOICE": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# One JSON object per line with the request id (LOG_FORMAT=json, the default outside
# DEBUG), or one line of text (LOG_FORMAT=text); see config/logging.py.
LOGGING = django_logging(level=env("DJANGO_LOG_LEVEL", "INFO"))

# Admin: the audit trail shows who (user) and where (URL) for every change.
PGHISTORY_ADMIN_MODEL = "measures.AuditEvent"
PGHISTORY_ADMIN_CLASS = "measures.admin.audit.AuditEventAdmin"
# Bulk import needs the "add" permission on the model; export the "view" permission.
IMPORT_EXPORT_IMPORT_PERMISSION_CODE = "add"
IMPORT_EXPORT_EXPORT_PERMISSION_CODE = "view"
IMPORT_EXPORT_USE_TRANSACTIONS = True
