"""Wangge settings: every value that differs between machines comes from the environment."""

from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP
from django.utils.translation import gettext_lazy as _

from wangge.env import (
    cache_config,
    env_bool,
    env_float,
    env_int,
    env_list,
    env_networks,
    env_origins,
    env_str,
    tile_origin,
)

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("WANGGE_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG and env_bool("WANGGE_REQUIRE_SECRET_KEY", False):
        raise ImproperlyConfigured("SECRET_KEY must be set in production")
    # Development and tests only; `check --deploy` flags it as insecure.
    SECRET_KEY = "django-insecure-wangge-development-key-change-me-in-production-0123456789"  # noqa: S105

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "axes",
    "wangge.core.tasks_app.TasksDbConfig",  # django_tasks_db, in the site's language
    # django-ninja: its Swagger UI from our own static files, not a CDN the CSP blocks.
    "ninja",
    "wangge.core",
    "wangge.accounts",
    "wangge.territory",
    "wangge.workcalendar",
    "wangge.notifications",
    "wangge.cases",
    "wangge.registry",
    "wangge.dashboard",
    "wangge.public",
    "wangge.open311",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "wangge.core.middleware.CorsMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    # Before anything reads the body; after LocaleMiddleware so its pages are translated.
    "wangge.core.middleware.RequestGuardMiddleware",
    # /api/ calls with a bearer token go straight to the view from here: what follows serves
    # browser sessions (docs/decisions/0008-api-middleware.md). None of the three above uses
    # the session.
    "wangge.core.middleware.BearerApiMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    # Last, as django-axes requires.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "wangge.urls"
WSGI_APPLICATION = "wangge.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "wangge" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "wangge.core.context_processors.site",
            ],
        },
    },
]

# Database: SQLite under var/ with no configuration, PostgreSQL (or anything) via DATABASE_URL.
_sqlite_path = VAR_DIR / "wangge.sqlite3"
DATABASE_URL = env_str("DATABASE_URL", "")
if DATABASE_URL:
    try:
        _db = dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 60))
    except ValueError as exc:
        raise ImproperlyConfigured(f"DATABASE_URL is not a valid database URL: {exc}") from None
else:
    # The zero-configuration default: make sure its folder exists so the first command works.
    _sqlite_path.parent.mkdir(parents=True, exist_ok=True)
    _db = {"ENGINE": "django.db.backends.sqlite3", "NAME": str(_sqlite_path)}
if _db["ENGINE"] == "django.db.backends.sqlite3":
    _db["OPTIONS"] = {
        # IMMEDIATE takes the write lock at BEGIN, so two writers queue instead of deadlocking.
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=20000;"
            " PRAGMA foreign_keys=ON;"
        ),
    }
    _db["TEST"] = {"NAME": env_str("SQLITE_TEST_NAME", "") or None}
else:
    _db.setdefault("TEST", {})
if _db["ENGINE"] == "django.db.backends.postgresql":
    # Prepared statements only where the code asks for them (wangge.core.sql.prepared_cursor:
    # the intake's lookups); the ORM keeps client-side binding. DB_PREPARED_STATEMENTS=0 turns
    # them off, for a transaction-pooling PgBouncer older than 1.21.
    _db.setdefault("OPTIONS", {})["prepare_threshold"] = (
        2**31 - 1 if env_bool("DB_PREPARED_STATEMENTS", True) else None
    )
DATABASES = {"default": _db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Cache (rate-limit counters): Redis via CACHE_URL in production. Without it each process keeps
# its own local-memory cache, so every rate limit then counts per process, not per site.
CACHE_URL = env_str("CACHE_URL", "")
CACHES = {"default": cache_config(CACHE_URL)}
# Proxies whose X-Forwarded-For is believed when finding a client's address (addresses or
# networks, e.g. 127.0.0.1,10.0.0.0/8). Empty: the peer address is the client.
WANGGE_TRUSTED_PROXIES = env_networks("WANGGE_TRUSTED_PROXIES", [])

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "wangge.accounts.backends.MobileOrUsernameBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "core:home"
LOGOUT_REDIRECT_URL = "accounts:login"

# django-axes: lock an account+IP pair out after repeated failures.
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"
AXES_IPWARE_META_PRECEDENCE_ORDER = ["REMOTE_ADDR"]

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("简体中文")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "wangge" / "locale"]
TIME_ZONE = env_str("TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static_vendor"]
MEDIA_URL = "media/"
MEDIA_ROOT = VAR_DIR / "media"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        # Production: WANGGE_MANIFEST_STATIC=1 after `collectstatic` (hashed, compressed files).
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if env_bool("WANGGE_MANIFEST_STATIC", False)
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = True
# Request size limits (413 beyond them). The whole body: 9 photos of 10 MB plus the form.
WANGGE_MAX_REQUEST_BYTES = env_int("WANGGE_MAX_REQUEST_BYTES", 100 * 1024 * 1024, minimum=1024)
# Everything but uploaded files, e.g. a JSON body with base64 photos.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 5 * 1024 * 1024, minimum=1024)
DATA_UPLOAD_MAX_NUMBER_FIELDS = env_int("DATA_UPLOAD_MAX_NUMBER_FIELDS", 1000, minimum=10)
DATA_UPLOAD_MAX_NUMBER_FILES = env_int("DATA_UPLOAD_MAX_NUMBER_FILES", 20, minimum=1)
# Uploads above this go to a temporary file instead of memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = env_int("FILE_UPLOAD_MAX_MEMORY_SIZE", 2621440, minimum=1024)

# Rate limits, per minute: the staff API per token, and per client address for calls without
# a valid token. Pages and Open311 set their own limits where they accept input.
WANGGE_API_RATE_PER_TOKEN = env_int("WANGGE_API_RATE_PER_TOKEN", 600, minimum=1)
WANGGE_API_RATE_PER_IP = env_int("WANGGE_API_RATE_PER_IP", 60, minimum=1)
# Origins (https://app.example.org) that browsers may call /api/ and /open311/ from; empty: none.
WANGGE_CORS_ALLOWED_ORIGINS = env_origins("WANGGE_CORS_ALLOWED_ORIGINS", [])

# Security: secure cookies unless explicitly serving plain HTTP for local development.
_https = env_bool("WANGGE_HTTPS", not DEBUG)
SESSION_COOKIE_SECURE = _https
CSRF_COOKIE_SECURE = _https
SECURE_SSL_REDIRECT = _https and env_bool("WANGGE_SSL_REDIRECT", True)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000 if _https else 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = _https
SECURE_HSTS_PRELOAD = _https
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("WANGGE_BEHIND_PROXY", False) else None
)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 12 * 3600, minimum=60)
CSRF_COOKIE_HTTPONLY = True
CSRF_FAILURE_VIEW = "wangge.core.views.csrf_failure"
# Covering (INCLUDE) indexes exist on PostgreSQL only; on SQLite the same index simply has no
# extra columns (cases.Case's case_open_clock).
SILENCED_SYSTEM_CHECKS = ["models.W040"]
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CONTENT_TYPE_NOSNIFF = True

MAP_TILE_URL = env_str("WANGGE_MAP_TILE_URL", "")
MAP_TILE_ATTRIBUTION = env_str("WANGGE_MAP_TILE_ATTRIBUTION", "")
_tile_origins = [tile_origin(MAP_TILE_URL)] if MAP_TILE_URL else []
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF, CSP.NONCE],
    # Leaflet positions tiles and markers with inline style attributes.
    "style-src-attr": [CSP.UNSAFE_INLINE],
    "img-src": [CSP.SELF, "data:", "blob:", *_tile_origins],
    "connect-src": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
    "base-uri": [CSP.SELF],
    "object-src": [CSP.NONE],
}

TASKS = {
    "default": {
        "BACKEND": env_str(
            "WANGGE_TASKS_BACKEND", "django.tasks.backends.immediate.ImmediateBackend"
        )
    }
}

LOG_LEVEL = env_str("LOG_LEVEL", "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {"axes": {"level": "WARNING"}},
}

# Demo and seed data location (read-only reference data shipped beside the repository).
WANGGE_SHARED_DATA = Path(env_str("WANGGE_SHARED_DATA", str(BASE_DIR.parent / "shared" / "data")))

# Dashboard KPIs (DOMAIN.md §3): weight of 基本满意 in 满意率, weights of the composite score,
# and how often the dashboard pages poll for fresh numbers.
WANGGE_KPI_BASICALLY_SATISFIED_WEIGHT = env_float(
    "WANGGE_KPI_BASICALLY_SATISFIED_WEIGHT", 0.9, minimum=0, maximum=1
)
WANGGE_KPI_WEIGHTS = {
    "response": env_float("WANGGE_KPI_RESPONSE_WEIGHT", 0.1, minimum=0, maximum=1),
    "resolution": env_float("WANGGE_KPI_RESOLUTION_WEIGHT", 0.5, minimum=0, maximum=1),
    "satisfaction": env_float("WANGGE_KPI_SATISFACTION_WEIGHT", 0.4, minimum=0, maximum=1),
}
WANGGE_DASHBOARD_REFRESH_SECONDS = env_int("WANGGE_DASHBOARD_REFRESH_SECONDS", 5, minimum=1)
# 红黑榜: a department or unit is ranked once it has closed this many cases in the period (its
# composite score is then more than a response rate; one open case scored 100 or 0).
WANGGE_RANKING_MIN_CLOSED = env_int("WANGGE_RANKING_MIN_CLOSED", 3, minimum=1)

# Text messages to residents (wangge/public/sms.py): a dotted path to a backend class. The
# default writes them to stdout and the log; a real gateway plugs in here.
WANGGE_SMS_BACKEND = env_str("WANGGE_SMS_BACKEND", "wangge.public.sms.ConsoleSmsBackend")
WANGGE_NOTIFICATION_CHANNELS = {"sms": "wangge.public.sms.SmsChannel"}

# Open311 GeoReport v2 (/open311/v2/): the jurisdiction_id values accepted (default: the
# district codes in the database), requests per minute per address without a key, the category
# codes (classes or sub-classes) whose cases stay out of the public feed (and off the residents' map
# and the "是不是这件事" prompt: personal matters), the discovery contact.
WANGGE_OPEN311_JURISDICTIONS = env_list("WANGGE_OPEN311_JURISDICTIONS", [])
WANGGE_OPEN311_ANONYMOUS_PER_MINUTE = env_int("WANGGE_OPEN311_ANONYMOUS_PER_MINUTE", 60, minimum=1)
WANGGE_OPEN311_PRIVATE_CATEGORIES = env_list(
    "WANGGE_OPEN311_PRIVATE_CATEGORIES", ["dispute", "policy"]
)
WANGGE_OPEN311_CONTACT = env_str("WANGGE_OPEN311_CONTACT", "")
