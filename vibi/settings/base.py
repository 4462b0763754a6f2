"""Settings, read from the environment (see docs/configuration.md for the table).

With nothing set the platform runs embedded: SQLite, a file-system Celery broker, local file
storage and the local simulators of Perso, Gemini and Google sign-in.
"""

import os
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import dj_database_url

from vibi import settings_problems as _problems
from vibi.env import env_bool, env_float, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent.parent
DATA_DIR = Path(env_str("VIBI_DATA_DIR", str(BASE_DIR / "data"))).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)
EMBEDDED = env_bool("VIBI_EMBEDDED", True)


def _embedded_secret(name: str) -> str:
    """A random secret kept in the data folder, so an embedded install needs no configuration."""
    if not EMBEDDED:
        if _problems.require(name, "a secret; or <NAME>_FILE naming a file that holds it"):
            return env_str(name)
        return f"unset-{secrets.token_urlsafe(48)}"  # never used: the environment check stops the process
    secret_file = DATA_DIR / f".{name.lower()}"
    if not secret_file.exists():
        secret_file.write_text(secrets.token_urlsafe(48))
        secret_file.chmod(0o600)
    return env_str(name, secret_file.read_text().strip())


SECRET_KEY = _embedded_secret("DJANGO_SECRET_KEY")
DEBUG = env_bool("DJANGO_DEBUG", False)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "*" if EMBEDDED else "")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", "")

# --- Behind a reverse proxy (issue 13) ----------------------------------------------------------
# How many proxies in front of web append to X-Forwarded-For. 0: the socket address is the client
# (a client-sent X-Forwarded-For is ignored); N: the N-th address from the right is the client.
NUM_PROXIES = env_int("NUM_PROXIES", 0, minimum=0, maximum=10)
if NUM_PROXIES:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", not EMBEDDED)
# Probes of the orchestrator and the proxy's health check speak plain HTTP to web directly.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 0 if EMBEDDED else 31536000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", not EMBEDDED)
SECURE_HSTS_PRELOAD = env_bool("DJANGO_HSTS_PRELOAD", not EMBEDDED)
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", not EMBEDDED)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "apps.core",
    "apps.accounts",
    "apps.jobs",
    "apps.media",
    "apps.perso",
    "apps.gemini",
    "apps.subtitles",
    "apps.dubbing",
    "apps.separation",
    "apps.render",
    "apps.chat",
    "apps.simulators",
    "django_prometheus",
    "apps.observability",
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "apps.core.middleware.DatabaseHealthCheckIntervalMiddleware",
    "apps.observability.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Sessions, CSRF, the session user and messages serve the admin and swagger; /api/ passes them by.
    "apps.core.middleware.BrowserSessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "apps.core.middleware.BrowserCsrfViewMiddleware",
    "apps.core.middleware.BrowserAuthenticationMiddleware",
    "apps.core.middleware.BrowserMessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "apps.core.middleware.ApiErrorShapeMiddleware",
    "apps.core.admin_login.AdminLoginThrottleMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]
# security.W003 wants CsrfViewMiddleware by its exact name; apps.core.checks.csrf_middleware_check
# (vibi.W003) accepts the subclass above instead.
SILENCED_SYSTEM_CHECKS = ["security.W003"]

ROOT_URLCONF = "vibi.urls"
WSGI_APPLICATION = "vibi.wsgi.application"
ASGI_APPLICATION = "vibi.asgi.application"
AUTH_USER_MODEL = "accounts.User"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
APPEND_SLASH = False

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
            ]
        },
    }
]


def _sqlite_database(path: str) -> dict:
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": path or str(DATA_DIR / "vibi.sqlite3"),
        "OPTIONS": {"timeout": 30, "transaction_mode": "IMMEDIATE"},
    }


def _database_from_url(url: str) -> dict:
    """Postgres through dj-database-url (query options such as ?sslmode= are kept); SQLite as
    `sqlite:///absolute/path`. A URL that does not parse is recorded and SQLite in the data folder used
    meanwhile, so the environment check can name it."""
    if not _problems.check_url("DATABASE_URL", url, {"postgres", "postgresql", "pgsql", "sqlite"}):
        return _sqlite_database("")
    parsed = urlparse(url)
    if parsed.scheme == "sqlite":
        return _sqlite_database(unquote(parsed.path))
    database = dj_database_url.parse(
        url, conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60, minimum=0), conn_health_checks=True
    )
    database.setdefault("OPTIONS", {}).setdefault("connect_timeout", env_int("DATABASE_CONNECT_TIMEOUT", 10, minimum=1))
    return dict(database)


DATABASES = {"default": _database_from_url(env_str("DATABASE_URL", f"sqlite://{DATA_DIR / 'vibi.sqlite3'}"))}
# A reused connection is checked (`SELECT 1`) at most this often instead of before every request's
# first query (apps/core/middleware.DatabaseHealthCheckIntervalMiddleware); 0 checks every request.
DATABASE_HEALTH_CHECK_INTERVAL_SEC = env_int("DATABASE_HEALTH_CHECK_INTERVAL_SEC", 1, minimum=0, maximum=60)

# Throttle counters and token caches must be shared by every web process and host: Redis in production.
CACHE_URL = env_str("CACHE_URL", "")
CACHES: dict[str, dict[str, Any]]
if CACHE_URL and _problems.check_url("CACHE_URL", CACHE_URL, {"redis", "rediss", "unix"}):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": CACHE_URL,
            "KEY_PREFIX": env_str("CACHE_KEY_PREFIX", ""),
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)

# --- Storage: local files by default, S3-compatible object storage in production --------------
STORAGE_BACKEND = env_str("STORAGE_BACKEND", "local")
MEDIA_ROOT = DATA_DIR / "media"
if STORAGE_BACKEND == "s3":
    # Download links are presigned with SigV4 for S3_PUBLIC_ENDPOINT_URL (the address the phone
    # reaches, e.g. a custom domain in front of the store) while the platform itself talks to
    # S3_ENDPOINT_URL (often an internal name).
    _problems.require("S3_BUCKET", "the bucket of S3 storage")
    for _name in ("S3_ENDPOINT_URL", "S3_PUBLIC_ENDPOINT_URL"):
        if env_str(_name, ""):
            _problems.check_url(_name, env_str(_name), {"http", "https"})
    _default_storage = {
        "BACKEND": "apps.core.storage.PublicEndpointS3Storage",
        "OPTIONS": {
            "bucket_name": env_str("S3_BUCKET", ""),
            "endpoint_url": env_str("S3_ENDPOINT_URL", "") or None,
            "public_endpoint_url": env_str("S3_PUBLIC_ENDPOINT_URL", "") or None,
            "access_key": env_str("S3_ACCESS_KEY_ID", "") or None,
            "secret_key": env_str("S3_SECRET_ACCESS_KEY", "") or None,
            "region_name": env_str("S3_REGION", "") or "us-east-1",
            "addressing_style": env_str("S3_ADDRESSING_STYLE", "path"),
            "signature_version": "s3v4",
            "default_acl": None,
            "file_overwrite": True,
            "querystring_auth": True,
        },
    }
elif STORAGE_BACKEND == "local":
    _default_storage = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(MEDIA_ROOT), "allow_overwrite": True},
    }
else:
    _problems.malformed("STORAGE_BACKEND", f"must be 'local' or 's3', got {STORAGE_BACKEND!r}")
    _default_storage = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(MEDIA_ROOT), "allow_overwrite": True},
    }
STORAGES: dict[str, dict[str, Any]] = {
    "default": _default_storage,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# --- Uploads: files spool to disk, never whole in memory --------------------------------------
MAX_UPLOAD_FILE_SIZE_MB = env_int("MAX_UPLOAD_FILE_SIZE_MB", 500, minimum=1)
MAX_FORM_FIELD_SIZE_KB = env_int("MAX_FORM_FIELD_SIZE_KB", 256, minimum=1)
# A request body announcing more than this is refused before a byte of it is read.
MAX_REQUEST_BODY_MB = env_int("MAX_REQUEST_BODY_MB", 2048, minimum=1)
FILE_UPLOAD_MAX_MEMORY_SIZE = 0
FILE_UPLOAD_TEMP_DIR = str(DATA_DIR / "upload-tmp")
Path(FILE_UPLOAD_TEMP_DIR).mkdir(parents=True, exist_ok=True)
FILE_UPLOAD_HANDLERS = ["apps.media.uploads.LimitedTemporaryFileUploadHandler"]
DATA_UPLOAD_MAX_MEMORY_SIZE = MAX_FORM_FIELD_SIZE_KB * 1024
DATA_UPLOAD_MAX_NUMBER_FIELDS = 200
DATA_UPLOAD_MAX_NUMBER_FILES = 200

# --- Public URLs and simulators -----------------------------------------------------------------
PUBLIC_BASE_URL = env_str("PUBLIC_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
SIMULATORS_ENABLED = env_bool("SIMULATORS_ENABLED", EMBEDDED)
SIMULATOR_BASE_URL = env_str("SIMULATOR_BASE_URL", PUBLIC_BASE_URL).rstrip("/")

# --- Auth ---------------------------------------------------------------------------------------
GOOGLE_OAUTH_CLIENT_IDS = env_list("GOOGLE_OAUTH_CLIENT_IDS", "vibi-embedded.apps.googleusercontent.com")
GOOGLE_CERTS_URL = env_str(
    "GOOGLE_CERTS_URL",
    f"{SIMULATOR_BASE_URL}/sim/google/certs" if SIMULATORS_ENABLED else "https://www.googleapis.com/oauth2/v1/certs",
)
GOOGLE_ISSUERS = env_list("GOOGLE_ISSUERS", "accounts.google.com,https://accounts.google.com")
AUTH_JWT_SECRET = _embedded_secret("AUTH_JWT_SECRET")
AUTH_JWT_ISSUER = env_str("AUTH_JWT_ISSUER", "vibi-bff")
AUTH_JWT_AUDIENCE = env_str("AUTH_JWT_AUDIENCE", "vibi-mobile")
AUTH_JWT_EXPIRY_SECONDS = env_int("AUTH_JWT_EXPIRY_SECONDS", 7 * 24 * 3600, minimum=60, maximum=30 * 24 * 3600)
# A Bearer's user is read from the database at most this often per web process (status polls); a
# deactivated or deleted user is refused by every process within this many seconds. 0: every request.
AUTH_USER_CACHE_SEC = env_int("AUTH_USER_CACHE_SEC", 30, minimum=0, maximum=300)

# --- Signed download URLs -------------------------------------------------------------------------
SIGNING_SECRET = _embedded_secret("SEPARATION_SIGNING_SECRET")
SEPARATION_URL_TTL_SEC = env_int("SEPARATION_URL_TTL_SEC", 7 * 24 * 3600, minimum=60, maximum=7 * 24 * 3600)
SEPARATION_MIX_URL_TTL_SEC = env_int("SEPARATION_MIX_URL_TTL_SEC", 3600, minimum=60, maximum=7 * 24 * 3600)

# --- Retention ----------------------------------------------------------------------------------------
SEPARATION_RETENTION_SEC = env_int("SEPARATION_RETENTION_SEC", 8 * 24 * 3600, minimum=7 * 24 * 3600)
RESULT_RETENTION_SEC = env_int("RESULT_RETENTION_SEC", 7 * 24 * 3600, minimum=3600)
RENDER_OUTPUT_TTL_SEC = env_int("RENDER_OUTPUT_TTL_SEC", 7 * 24 * 3600, minimum=2 * 3600)
RENDER_INPUT_CACHE_TTL_SEC = env_int("RENDER_INPUT_CACHE_TTL_SEC", 24 * 3600, minimum=600)
UPLOAD_STAGING_TTL_SEC = env_int("UPLOAD_STAGING_TTL_SEC", 6 * 3600, minimum=600)
FAILED_JOB_RETENTION_SEC = env_int("FAILED_JOB_RETENTION_SEC", 7 * 24 * 3600, minimum=600)

# --- Upstreams ------------------------------------------------------------------------------------------
PERSO_API_BASE_URL = env_str("PERSO_API_BASE_URL", f"{SIMULATOR_BASE_URL}/sim/perso").rstrip("/")
PERSO_STORAGE_BASE_URL = env_str("PERSO_STORAGE_BASE_URL", f"{SIMULATOR_BASE_URL}/sim/perso-storage").rstrip("/")
PERSO_API_KEY = env_str("PERSO_API_KEY", "sim-perso-key" if SIMULATORS_ENABLED else "")
PERSO_SPACE_SEQ = env_int("PERSO_SPACE_SEQ", 1, minimum=1)
PERSO_DOWNLOAD_ALLOWED_HOSTS = env_list("PERSO_DOWNLOAD_ALLOWED_HOSTS", "portal-media.perso.ai")
PERSO_POLL_FIRST_DELAY_SEC = env_int("PERSO_POLL_FIRST_DELAY_SEC", 5, minimum=5)
PERSO_POLL_MAX_INTERVAL_SEC = env_int("PERSO_POLL_MAX_INTERVAL_SEC", 30, minimum=5)
# The documented floor: a project is never polled sooner than this after its last poll, across workers.
PERSO_POLL_MIN_INTERVAL_SEC = max(5.0, env_float("PERSO_POLL_MIN_INTERVAL_SEC", 5.0))
# Polls that failed (5xx, network, 429) back off by doubling from the floor up to this.
PERSO_POLL_ERROR_MAX_INTERVAL_SEC = env_int("PERSO_POLL_ERROR_MAX_INTERVAL_SEC", 120, minimum=5)
PERSO_POLL_DEADLINE_SEC = env_int("PERSO_POLL_DEADLINE_SEC", 60 * 60, minimum=60)
PERSO_MAX_IN_FLIGHT = env_int("PERSO_MAX_IN_FLIGHT", 3, minimum=1)
LANGUAGES_CACHE_SEC = env_int("LANGUAGES_CACHE_SEC", 3600, minimum=0)

GEMINI_API_KEY = env_str("GEMINI_API_KEY", "sim-gemini-key" if SIMULATORS_ENABLED else "")
GEMINI_BASE_URL = env_str("GEMINI_BASE_URL", f"{SIMULATOR_BASE_URL}/sim/gemini" if SIMULATORS_ENABLED else "")
GEMINI_USE_VERTEX = env_bool("GEMINI_USE_VERTEX", False)
GEMINI_PROJECT_ID = env_str("GEMINI_PROJECT_ID", "")
GEMINI_LOCATION = env_str("GEMINI_LOCATION", "us-central1")
GEMINI_MODEL = env_str("GEMINI_MODEL", "gemini-2.5-flash")

# --- ffmpeg -----------------------------------------------------------------------------------------------
FFMPEG_BINARY = env_str("FFMPEG_BINARY", "")
FFPROBE_BINARY = env_str("FFPROBE_BINARY", "")
RENDER_MAX_CONCURRENT = env_int("RENDER_MAX_CONCURRENT", 1, minimum=1)

# --- Celery -------------------------------------------------------------------------------------------------
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "filesystem://")
if not _problems.check_url(
    "CELERY_BROKER_URL", CELERY_BROKER_URL, {"filesystem", "memory", "redis", "rediss", "amqp", "amqps", "pyamqp"}
):
    CELERY_BROKER_URL = "memory://"
BROKER_DATA_DIR = DATA_DIR / "broker"
CELERY_BROKER_TRANSPORT_OPTIONS: dict = {}
if CELERY_BROKER_URL.startswith("filesystem://"):
    for _sub in ("queue", "processed", "control"):
        (BROKER_DATA_DIR / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DATA_DIR / "queue"),
        "data_folder_out": str(BROKER_DATA_DIR / "queue"),
        "processed_folder": str(BROKER_DATA_DIR / "processed"),
        "control_folder": str(BROKER_DATA_DIR / "control"),
        "store_processed": False,
    }
else:
    # Longer than the longest render plus the longest countdown, so Redis never redelivers a
    # message whose worker is still busy with it.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT_SEC", 4 * 3600, minimum=600)
    }
    if env_str("CELERY_REDIS_KEY_PREFIX", ""):
        # Lets several deployments (or test runs) share one Redis without seeing each other's queues.
        CELERY_BROKER_TRANSPORT_OPTIONS["global_keyprefix"] = env_str("CELERY_REDIS_KEY_PREFIX")
CELERY_TASK_ALWAYS_EAGER = False
# --- i17: fast takeover. A running stage's lease is renewed every JOB_LEASE_SEC/3 by a heartbeat
# thread in its worker (workers/base.py), so a dead worker's stage is re-sent at most
# JOB_LEASE_SEC + RECONCILE_INTERVAL_SEC after it died (40 s by default).
JOB_LEASE_SEC = env_int("JOB_LEASE_SEC", 30, minimum=10)
JOB_REDISPATCH_AFTER_SEC = env_int("JOB_REDISPATCH_AFTER_SEC", 600, minimum=10)
RECONCILE_INTERVAL_SEC = env_int("RECONCILE_INTERVAL_SEC", 10, minimum=1)
# Names a folder to enable the chaos hooks (apps/core/chaos.py) in a chaos run; never set in production.
CHAOS_DIR = env_str("VIBI_CHAOS_DIR", "")
# --- end i17
POLL_TICK_SEC = env_int("POLL_TICK_SEC", 5, minimum=1)

# --- DRF and OpenAPI ----------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["apps.accounts.authentication.BearerJWTAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "apps.core.json_input.StrictJSONParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "EXCEPTION_HANDLER": "apps.core.errors.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "apps.core.schema.VibiAutoSchema",
    "UNAUTHENTICATED_USER": None,
    "NUM_PROXIES": NUM_PROXIES,
    "DEFAULT_THROTTLE_CLASSES": ["apps.core.throttling.SubmitRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "sign_in": env_str("THROTTLE_SIGN_IN", "10/min"),
        "submit": env_str("THROTTLE_SUBMIT", "30/min"),
        "chat": env_str("THROTTLE_CHAT", "30/min"),
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "vibi platform API",
    "DESCRIPTION": "The /api/v2 contract of the vibi mobile video editor.",
    "VERSION": "2.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": "/api/v2",
    "ENUM_NAME_OVERRIDES": {
        "ReadyStatusEnum": ["PENDING", "PROCESSING", "READY", "FAILED"],
        "CompletedStatusEnum": ["PENDING", "PROCESSING", "COMPLETED", "FAILED"],
    },
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "apps.core.schema.error_statuses_hook",
    ],
}

# --- Logs, metrics and ops records (issue 18; docs/operations.md "Runbook") ----------------------
# JSON lines in production, readable lines embedded; every line carries request_id, job_id,
# user_id, stage, task, queue and attempt when known, and is redacted (apps/observability/logging.py).
LOG_FORMAT = env_str("LOG_FORMAT", "plain" if EMBEDDED else "json")
if LOG_FORMAT not in ("json", "plain"):
    raise ValueError(f"LOG_FORMAT must be 'json' or 'plain', got {LOG_FORMAT!r}")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "apps.observability.logging.ContextFilter"}},
    "formatters": {
        "plain": {"()": "apps.observability.logging.PlainFormatter"},
        "json": {"()": "apps.observability.logging.JsonFormatter"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["context"]}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.server": {"level": "WARNING"}},
}
# Timestamps to the second everywhere in admin (vibi/formats/en/formats.py).
FORMAT_MODULE_PATH = ["vibi.formats"]
# prometheus-client multiprocess mode: every process of this host writes its series here (must be
# set before prometheus_client is imported, which happens after settings load).
PROMETHEUS_MULTIPROC_DIR = env_str("PROMETHEUS_MULTIPROC_DIR", str(DATA_DIR / "metrics"))
Path(PROMETHEUS_MULTIPROC_DIR).mkdir(parents=True, exist_ok=True)
os.environ["PROMETHEUS_MULTIPROC_DIR"] = PROMETHEUS_MULTIPROC_DIR
# GET /metrics needs `Authorization: Bearer <METRICS_BEARER_TOKEN>`; unset in production = refused.
METRICS_BEARER_TOKEN = _embedded_secret("METRICS_BEARER_TOKEN") if EMBEDDED else env_str("METRICS_BEARER_TOKEN", "")
# Worker hosts: `celery worker` serves its host's series on this port (0 = off), bound to this address.
METRICS_WORKER_PORT = env_int("METRICS_WORKER_PORT", 0, minimum=0, maximum=65535)
METRICS_WORKER_BIND = env_str("METRICS_WORKER_BIND", "127.0.0.1")
# Upstream-call rows and job events older than this are deleted by the retention task, in batches.
OPS_RECORD_RETENTION_DAYS = env_int("OPS_RECORD_RETENTION_DAYS", 30, minimum=1)
OPS_RECORD_DELETE_BATCH = env_int("OPS_RECORD_DELETE_BATCH", 5000, minimum=100)

# --- Gemini client, subtitles and autodub (helper: subtitles/autodub) ---------------------------
GEMINI_TIMEOUT_SEC = env_int("GEMINI_TIMEOUT_SEC", 120, minimum=5)
GEMINI_MAX_ATTEMPTS = env_int("GEMINI_MAX_ATTEMPTS", 4, minimum=1, maximum=10)
GEMINI_BACKOFF_BASE_MS = env_int("GEMINI_BACKOFF_BASE_MS", 1000, minimum=0)
GEMINI_BACKOFF_MAX_MS = env_int("GEMINI_BACKOFF_MAX_MS", 20000, minimum=0)
GEMINI_TRANSLATE_CHUNK_CUES = env_int("GEMINI_TRANSLATE_CHUNK_CUES", 150, minimum=1)
GEMINI_TRANSLATE_CHUNK_CHARS = env_int("GEMINI_TRANSLATE_CHUNK_CHARS", 12000, minimum=200)
GEMINI_TRANSLATE_CONCURRENCY = env_int("GEMINI_TRANSLATE_CONCURRENCY", 4, minimum=1, maximum=16)
# The key the Gemini simulator accepts (x-goog-api-key or ?key=).
GEMINI_SIMULATOR_API_KEY = env_str("GEMINI_SIMULATOR_API_KEY", "sim-gemini-key")
AUTODUB_EXTRACT_TIMEOUT_SEC = env_int("AUTODUB_EXTRACT_TIMEOUT_SEC", 600, minimum=10)
SUBTITLES_SRT_MAX_BYTES = env_int("SUBTITLES_SRT_MAX_BYTES", 5 * 1024 * 1024, minimum=1024)

# --- Perso client, poller and simulator (apps/perso, apps/simulators/perso) ---------------------------
PERSO_MAX_ATTEMPTS = env_int("PERSO_MAX_ATTEMPTS", 4, minimum=1, maximum=10)
PERSO_RETRY_BASE_MS = env_int("PERSO_RETRY_BASE_MS", 1000, minimum=1)
PERSO_RETRY_MAX_WAIT_SEC = env_int("PERSO_RETRY_MAX_WAIT_SEC", 30, minimum=1)
PERSO_CONNECT_TIMEOUT_SEC = env_int("PERSO_CONNECT_TIMEOUT_SEC", 30, minimum=1)
PERSO_READ_TIMEOUT_SEC = env_int("PERSO_READ_TIMEOUT_SEC", 60, minimum=1)
# Connect and read timeout of a Perso call a phone's request waits for (the language list, the submit check).
PERSO_WEB_TIMEOUT_SEC = env_int("PERSO_WEB_TIMEOUT_SEC", 10, minimum=1)
PERSO_UPLOAD_CONNECT_TIMEOUT_SEC = env_int("PERSO_UPLOAD_CONNECT_TIMEOUT_SEC", 120, minimum=1)
PERSO_UPLOAD_TIMEOUT_SEC = env_int("PERSO_UPLOAD_TIMEOUT_SEC", 600, minimum=10)
PERSO_QUEUE_RETRY_MAX_INTERVAL_SEC = env_int("PERSO_QUEUE_RETRY_MAX_INTERVAL_SEC", 60, minimum=5)
PERSO_STORAGE_READY_CHECKS = env_int("PERSO_STORAGE_READY_CHECKS", 3, minimum=1)
PERSO_STORAGE_READY_WAIT_SEC = env_int("PERSO_STORAGE_READY_WAIT_SEC", 2, minimum=0)
PERSO_FRESH_LINK_ATTEMPTS = env_int("PERSO_FRESH_LINK_ATTEMPTS", 3, minimum=1)
# The simulator: its state folder, the length of one processing stage and the SAS lifetime.
PERSO_SIM_DATA_DIR = env_str("PERSO_SIM_DATA_DIR", str(DATA_DIR / "sim-perso"))
PERSO_SIM_API_KEY = env_str("PERSO_SIM_API_KEY", "sim-perso-key")
PERSO_SIM_SPACE_SEQ = env_int("PERSO_SIM_SPACE_SEQ", 1, minimum=1)
PERSO_SIM_STEP_SEC = env_float("PERSO_SIM_STEP_SEC", 5.0)
PERSO_SIM_SAS_TTL_SEC = env_int("PERSO_SIM_SAS_TTL_SEC", 30 * 60, minimum=1)
PERSO_SIM_QUEUE_MAX = env_int("PERSO_SIM_QUEUE_MAX", 10, minimum=1)
# The documented polling floor ("Do not poll more frequently than every 5 seconds"): the simulator
# answers 429 to a progress poll of a project sooner than this after its previous poll.
PERSO_SIM_POLL_MIN_INTERVAL_SEC = env_float("PERSO_SIM_POLL_MIN_INTERVAL_SEC", 5.0)

# --- Chat assistant (apps/chat) --------------------------------------------------------------------------
# Only the latest turns of a long conversation go to Gemini; the phone resends the whole history each turn.
CHAT_HISTORY_MAX_TURNS = env_int("CHAT_HISTORY_MAX_TURNS", 40, minimum=2)
# Retry-After sent to the phone when Gemini is rate-limited or unavailable after our own retries.
CHAT_RETRY_AFTER_SEC = env_int("CHAT_RETRY_AFTER_SEC", 10, minimum=1)

# --- Render (apps/render) ----------------------------------------------------------------------------------
# ffmpeg timeout per render = base + per-second-of-output × output seconds (capped below the task's limit).
RENDER_TIMEOUT_BASE_SEC = env_int("RENDER_TIMEOUT_BASE_SEC", 120, minimum=10)
RENDER_TIMEOUT_PER_OUTPUT_SEC = env_int("RENDER_TIMEOUT_PER_OUTPUT_SEC", 10, minimum=1)
RENDER_MAX_OUTPUT_SEC = env_int("RENDER_MAX_OUTPUT_SEC", 3600, minimum=1)
# Host-local folder of the RENDER_MAX_CONCURRENT slot lock files (and render scratch space).
RENDER_WORK_DIR = env_str("RENDER_WORK_DIR", str(DATA_DIR / "render-work"))

# --- Separation (apps/separation) ----------------------------------------------------------------------------
# Perso refuses media shorter than this (F4009): shorter windows are padded with silence before the upload
# and their stems cut back to the window. 0 turns the padding off.
SEPARATION_MIN_UPSTREAM_MS = env_int("SEPARATION_MIN_UPSTREAM_MS", 5000, minimum=0)
# Downloads (and the redirects they follow) stay on the file base's host plus these configured hosts.
PERSO_DOWNLOAD_ALLOWED_HOSTS = sorted(
    {*PERSO_DOWNLOAD_ALLOWED_HOSTS} | {host for host in (urlparse(PERSO_STORAGE_BASE_URL).hostname,) if host}
)

# --- Production refuses to guess (issue 13) ------------------------------------------------------------
# Malformed URLs are recorded wherever they are read; here: what production must set explicitly and
# what only the embedded default may use. apps/core/checks.py reports the whole list as one error.
CELERY_BEAT_SCHEDULE_FILENAME = str(DATA_DIR / "celerybeat-schedule")
for _name, _value in (
    ("PUBLIC_BASE_URL", PUBLIC_BASE_URL),
    ("SIMULATOR_BASE_URL", SIMULATOR_BASE_URL),
    ("PERSO_API_BASE_URL", PERSO_API_BASE_URL),
    ("PERSO_STORAGE_BASE_URL", PERSO_STORAGE_BASE_URL),
    ("GOOGLE_CERTS_URL", GOOGLE_CERTS_URL),
    *((("GEMINI_BASE_URL", GEMINI_BASE_URL),) if GEMINI_BASE_URL else ()),
):
    _problems.check_url(_name, _value, {"http", "https"})
for _origin in CSRF_TRUSTED_ORIGINS:
    _problems.check_url("DJANGO_CSRF_TRUSTED_ORIGINS", _origin, {"http", "https"})
if not EMBEDDED:
    if _problems.require("DATABASE_URL", "a postgres:// URL") and DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        _problems.embedded_only("DATABASE_URL", "SQLite")
    if _problems.require("CELERY_BROKER_URL", "a redis:// or amqp:// URL") and CELERY_BROKER_URL.split(":")[0] in {
        "filesystem",
        "memory",
    }:
        _problems.embedded_only("CELERY_BROKER_URL", "the file-system broker")
    _problems.require("CACHE_URL", "a redis:// URL: throttles and token caches are shared by every process")
    if STORAGE_BACKEND != "s3":
        _problems.embedded_only("STORAGE_BACKEND", "local file storage (set STORAGE_BACKEND=s3)")
    else:
        for _name in ("S3_ENDPOINT_URL", "S3_ACCESS_KEY_ID", "S3_SECRET_ACCESS_KEY"):
            _problems.require(_name, "S3 storage")
    _problems.require("PUBLIC_BASE_URL", "the https:// address the phone reaches web at")
    if _problems.require("DJANGO_ALLOWED_HOSTS", "the host names web answers to") and "*" in ALLOWED_HOSTS:
        _problems.embedded_only("DJANGO_ALLOWED_HOSTS", "'*'")
    if DEBUG:
        _problems.embedded_only("DJANGO_DEBUG", "true")
    if SIMULATORS_ENABLED:
        _problems.embedded_only("SIMULATORS_ENABLED", "mounting the upstream simulators in web")
    _problems.require("PERSO_API_BASE_URL", "Perso's API")
    _problems.require("PERSO_STORAGE_BASE_URL", "Perso's file storage")
    if _problems.require("PERSO_API_KEY", "the Perso API key") and PERSO_API_KEY == "sim-perso-key":
        _problems.embedded_only("PERSO_API_KEY", "the simulator's key")
    _problems.require("PERSO_SPACE_SEQ", "the Perso space")
    if _problems.require("GOOGLE_OAUTH_CLIENT_IDS", "the app's Google client ids") and (
        "vibi-embedded.apps.googleusercontent.com" in GOOGLE_OAUTH_CLIENT_IDS
    ):
        _problems.embedded_only("GOOGLE_OAUTH_CLIENT_IDS", "the simulator's client id")
    if GEMINI_USE_VERTEX:
        _problems.require("GEMINI_PROJECT_ID", "Gemini through Vertex AI")
    elif not _problems.is_set("GEMINI_API_KEY"):
        _problems.PROBLEMS.append(
            "GEMINI_API_KEY is not set (Gemini credentials: an API key, or GEMINI_USE_VERTEX=true with GEMINI_PROJECT_ID)"
        )
    elif GEMINI_API_KEY == "sim-gemini-key":
        _problems.embedded_only("GEMINI_API_KEY", "the simulator's key")
# --- Hostile clients (issue 14): web server, bulkheads, deadlines, JSON, tokens -------------------------
# The embedded web server (waitress, apps/core/webserver.py): its threads, how many sockets it holds,
# how long a connection may sit idle and how long one request may take to arrive (headers + body).
WEB_THREADS = env_int("WEB_THREADS", 16, minimum=2)
WEB_CONNECTION_LIMIT = env_int("WEB_CONNECTION_LIMIT", 1000, minimum=10)
WEB_IDLE_TIMEOUT_SEC = env_int("WEB_IDLE_TIMEOUT_SEC", 15, minimum=1)
WEB_REQUEST_READ_TIMEOUT_SEC = env_int("WEB_REQUEST_READ_TIMEOUT_SEC", 60, minimum=1)
WEB_MAX_HEADER_BYTES = env_int("WEB_MAX_HEADER_BYTES", 64 * 1024, minimum=8 * 1024)
# Chat turns served at once by one web process; more answer 503 at once (the other threads stay free).
CHAT_MAX_IN_FLIGHT = env_int("CHAT_MAX_IN_FLIGHT", 4, minimum=1)
# Overall deadline of the Gemini call inside one chat turn (all attempts), and attempts in it.
CHAT_GEMINI_DEADLINE_SEC = env_int("CHAT_GEMINI_DEADLINE_SEC", 8, minimum=1)
CHAT_GEMINI_MAX_ATTEMPTS = env_int("CHAT_GEMINI_MAX_ATTEMPTS", 2, minimum=1, maximum=3)
# JSON bodies and JSON form parts: deeper nesting is a 400 (the parser never recurses past it).
JSON_MAX_DEPTH = env_int("JSON_MAX_DEPTH", 32, minimum=4, maximum=200)
# Platform JWTs: an `exp` further than this from `iat` (or from now) is refused, whoever signed it.
AUTH_JWT_MAX_LIFETIME_SECONDS = env_int("AUTH_JWT_MAX_LIFETIME_SECONDS", 30 * 24 * 3600, minimum=60)
# Admin sign-in: failed attempts allowed per account and per address in ADMIN_LOGIN_WINDOW_SEC.
ADMIN_LOGIN_MAX_FAILURES = env_int("ADMIN_LOGIN_MAX_FAILURES", 5, minimum=1)
ADMIN_LOGIN_WINDOW_SEC = env_int("ADMIN_LOGIN_WINDOW_SEC", 15 * 60, minimum=10)
if not env_str("CACHE_URL", ""):
    # Throttle counters must be shared by every process of the embedded default too.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(DATA_DIR / "cache"),
            "OPTIONS": {"MAX_ENTRIES": 100_000},
        }
    }
# Render size limits, checked at submit (docs/render.md): items per render and ffmpeg inputs in total.
RENDER_MAX_SEGMENTS = env_int("RENDER_MAX_SEGMENTS", 300, minimum=1)
RENDER_MAX_IMAGE_CLIPS = env_int("RENDER_MAX_IMAGE_CLIPS", 200, minimum=0)
RENDER_MAX_AUDIO_CLIPS = env_int("RENDER_MAX_AUDIO_CLIPS", 200, minimum=0)
RENDER_MAX_INPUTS = env_int("RENDER_MAX_INPUTS", 500, minimum=2)
RENDER_SUBTITLES_MAX_BYTES = env_int("RENDER_SUBTITLES_MAX_BYTES", 5 * 1024 * 1024, minimum=1024)
# --- end hostile clients ---------------------------------------------------------------------------------
