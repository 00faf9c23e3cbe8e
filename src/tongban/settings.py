"""Django settings for tongban, built from environment variables (see ``tongban.config``).

Defaults give the embedded set-up used by ``make demo``: SQLite in WAL mode under ``var/``,
the database-backed task queue and no external service. Production sets ``DATABASE_URL`` to
PostgreSQL and ``TONGBAN_SECRET_KEY``; every variable is documented in docs/configuration.md.
"""

from __future__ import annotations

from pathlib import Path

import structlog
from django.utils.translation import gettext_lazy as _

from tongban.config import (
    ConfigError,
    database_config,
    env_bool,
    env_int,
    env_list,
    env_path,
    env_str,
)

PACKAGE_DIR = Path(__file__).resolve().parent
BASE_DIR = PACKAGE_DIR.parent.parent
VAR_DIR = env_path("TONGBAN_VAR_DIR", BASE_DIR / "var")

DEBUG = env_bool("TONGBAN_DEBUG", default=False)
TESTING = env_bool("TONGBAN_TESTING", default=False)
SECRET_KEY = env_str("TONGBAN_SECRET_KEY")
if not SECRET_KEY:
    if not (DEBUG or TESTING):
        raise ConfigError(
            "TONGBAN_SECRET_KEY is not set. Set it to a long random value "
            "(python -c 'import secrets; print(secrets.token_urlsafe(50))'), "
            "or set TONGBAN_DEBUG=true for a local demo."
        )
    SECRET_KEY = "insecure-local-only-key-never-use-in-production"  # noqa: S105

ALLOWED_HOSTS = env_list("TONGBAN_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("TONGBAN_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "axes",
    "django_tasks",
    "django_tasks_db",
    "tongban.core",
    "tongban.identity",
    "tongban.catalog",
    "tongban.workdays",
    "tongban.notifications",
    "tongban.cases",
    "tongban.licences",
    "tongban.policies",
    "tongban.portal",
    "tongban.workbench",
    "tongban.api",
    "tongban.bench",
    "tongban.demo",
    "tongban.sharing",
    "tongban.bundles",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "tongban.core.multipart.ReadablePartHeadersMiddleware",  # before anything reads the body
    "tongban.core.nul.RefuseNulMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "tongban.portal.middleware.DisplayPreferencesMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "tongban.urls"
WSGI_APPLICATION = "tongban.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [PACKAGE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "tongban.portal.context.display_preferences",
            ],
        },
    }
]

# --- Database: embedded SQLite (WAL) by default, PostgreSQL through DATABASE_URL -------------
DATABASE_URL = env_str("DATABASE_URL")
if not DATABASE_URL:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
DATABASES = {
    "default": database_config(
        DATABASE_URL, VAR_DIR, prepared=env_bool("TONGBAN_DB_PREPARED_STATEMENTS", True)
    )
}
# The queue indexes carry non-key columns (INCLUDE) for PostgreSQL's index-only scans; SQLite
# builds them without those columns, which is all the embedded database needs.
SILENCED_SYSTEM_CHECKS = (
    ["models.W040"] if DATABASES["default"]["ENGINE"].endswith("sqlite3") else []
)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Identity ----------------------------------------------------------------------------------
AUTH_USER_MODEL = "identity.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
OIDC_ENABLED = env_bool("TONGBAN_OIDC_ENABLED", default=False)
if OIDC_ENABLED:
    AUTHENTICATION_BACKENDS.append("tongban.identity.oidc.UnifiedIdentityBackend")
OIDC_RP_CLIENT_ID = env_str("TONGBAN_OIDC_CLIENT_ID")
OIDC_RP_CLIENT_SECRET = env_str("TONGBAN_OIDC_CLIENT_SECRET")
OIDC_OP_ISSUER = env_str("TONGBAN_OIDC_ISSUER")
OIDC_OP_AUTHORIZATION_ENDPOINT = env_str("TONGBAN_OIDC_AUTHORIZATION_ENDPOINT")
OIDC_OP_TOKEN_ENDPOINT = env_str("TONGBAN_OIDC_TOKEN_ENDPOINT")
OIDC_OP_USER_ENDPOINT = env_str("TONGBAN_OIDC_USERINFO_ENDPOINT")
OIDC_OP_JWKS_ENDPOINT = env_str("TONGBAN_OIDC_JWKS_ENDPOINT")
OIDC_RP_SIGN_ALGO = env_str("TONGBAN_OIDC_SIGN_ALGO", "RS256")
OIDC_RP_SCOPES = "openid profile"
OIDC_USE_PKCE = True
LOGIN_REDIRECT_URL_FAILURE = "/accounts/login/?oidc=failed"
if OIDC_ENABLED:
    _oidc_missing = [
        name
        for name, value in [
            ("TONGBAN_OIDC_CLIENT_ID", OIDC_RP_CLIENT_ID),
            ("TONGBAN_OIDC_ISSUER", OIDC_OP_ISSUER),
            ("TONGBAN_OIDC_AUTHORIZATION_ENDPOINT", OIDC_OP_AUTHORIZATION_ENDPOINT),
            ("TONGBAN_OIDC_TOKEN_ENDPOINT", OIDC_OP_TOKEN_ENDPOINT),
            ("TONGBAN_OIDC_USERINFO_ENDPOINT", OIDC_OP_USER_ENDPOINT),
            ("TONGBAN_OIDC_JWKS_ENDPOINT", OIDC_OP_JWKS_ENDPOINT),
        ]
        if not value
    ]
    if _oidc_missing:
        raise ConfigError(f"TONGBAN_OIDC_ENABLED needs these set too: {', '.join(_oidc_missing)}")
LOGIN_URL = "portal:login"
LOGIN_REDIRECT_URL = "portal:home"
LOGOUT_REDIRECT_URL = "portal:home"

# Behind a reverse proxy every request comes from the proxy's address; tell axes how many
# proxies to look through (X-Forwarded-For) so lockouts by address hit the real client.
PROXY_COUNT = env_int("TONGBAN_PROXY_COUNT", 0)
if PROXY_COUNT:
    AXES_IPWARE_PROXY_COUNT = PROXY_COUNT
    AXES_IPWARE_META_PRECEDENCE_ORDER = ["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"]
AXES_FAILURE_LIMIT = env_int("TONGBAN_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = env_int("TONGBAN_LOGIN_LOCKOUT_MINUTES", 30) / 60  # hours
# Lock an account name after repeated failures, and a source address spraying many names.
# Failures without an account name (OIDC callbacks) lock only their address: a shared
# "no username" bucket would let anyone lock every unified-identity login at once.
AXES_LOCKOUT_PARAMETERS = "tongban.identity.permissions.login_lockout_parameters"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "portal/locked_out.html"
AXES_VERBOSE = False

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
if TESTING:
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("TONGBAN_SECURE_COOKIES", default=not DEBUG and not TESTING)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE

# --- Language: 简体中文 by default, English kept complete ---------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("简体中文")), ("en", _("English"))]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
TIME_ZONE = env_str("TONGBAN_TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

# --- Static assets: served by the app, never from a CDN ------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise scans it at start-up
WHITENOISE_USE_FINDERS = DEBUG or TESTING
STATICFILES_DIRS = [BASE_DIR / "build" / "vendor"]  # npm assets; apps keep their own static/
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
MEDIA_ROOT = VAR_DIR / "media"

# --- Background work: one task API (django-tasks); embedded database backend by default ----------
# `database`: the embedded queue in the database (make demo, no external service); `rq`: RQ on
# Redis (production). A dotted backend path is accepted too. docs/adr/0002-background-work.md
_TASK_BACKENDS = {
    "database": "django_tasks_db.DatabaseBackend",
    "rq": "django_tasks_rq.RQBackend",
    "immediate": "django_tasks.backends.immediate.ImmediateBackend",
}
TONGBAN_TASK_BACKEND = env_str("TONGBAN_TASK_BACKEND", "database").strip()
_task_backend = _TASK_BACKENDS.get(TONGBAN_TASK_BACKEND, TONGBAN_TASK_BACKEND)
if "." not in _task_backend:
    raise ConfigError(
        f"TONGBAN_TASK_BACKEND={TONGBAN_TASK_BACKEND!r}: expected one of "
        f"{', '.join(_TASK_BACKENDS)} or a dotted backend path"
    )
TONGBAN_TASK_QUEUE = env_str("TONGBAN_TASK_QUEUE", "default").strip() or "default"
TONGBAN_REDIS_URL = env_str("TONGBAN_REDIS_URL", "redis://127.0.0.1:6379/0")
TASKS = {"default": {"BACKEND": _task_backend, "QUEUES": [TONGBAN_TASK_QUEUE]}}
# django-tasks-rq reads results through the "default" connection, whatever the queue is called.
RQ_QUEUES = {
    name: {"URL": TONGBAN_REDIS_URL, "DEFAULT_TIMEOUT": 600}
    for name in dict.fromkeys(["default", TONGBAN_TASK_QUEUE])
}
if _task_backend == _TASK_BACKENDS["rq"]:
    INSTALLED_APPS.append("django_rq")

# --- Notifications: outbox delivery, SMS gateway, e-mail -----------------------------------------
TONGBAN_NOTIFICATION_MAX_ATTEMPTS = env_int("TONGBAN_NOTIFICATION_MAX_ATTEMPTS", 6)
TONGBAN_NOTIFICATION_RETRY_SECONDS = env_int("TONGBAN_NOTIFICATION_RETRY_SECONDS", 60)
TONGBAN_NOTIFICATION_LEASE_SECONDS = env_int("TONGBAN_NOTIFICATION_LEASE_SECONDS", 300)
TONGBAN_NOTIFICATION_SWEEP_SECONDS = env_int("TONGBAN_NOTIFICATION_SWEEP_SECONDS", 60)
TONGBAN_SMS_GATEWAY = env_str("TONGBAN_SMS_GATEWAY", "logging")
TONGBAN_SMS_HTTP_URL = env_str("TONGBAN_SMS_HTTP_URL")
TONGBAN_SMS_HTTP_TIMEOUT = env_int("TONGBAN_SMS_HTTP_TIMEOUT", 10)
TONGBAN_SMS_HTTP_TOKEN = env_str("TONGBAN_SMS_HTTP_TOKEN")
for _name, _value in [
    ("TONGBAN_NOTIFICATION_MAX_ATTEMPTS", TONGBAN_NOTIFICATION_MAX_ATTEMPTS),
    ("TONGBAN_NOTIFICATION_RETRY_SECONDS", TONGBAN_NOTIFICATION_RETRY_SECONDS),
    ("TONGBAN_NOTIFICATION_LEASE_SECONDS", TONGBAN_NOTIFICATION_LEASE_SECONDS),
    ("TONGBAN_NOTIFICATION_SWEEP_SECONDS", TONGBAN_NOTIFICATION_SWEEP_SECONDS),
    ("TONGBAN_SMS_HTTP_TIMEOUT", TONGBAN_SMS_HTTP_TIMEOUT),
]:
    if _value < 1:
        raise ConfigError(f"{_name}={_value}: expected a whole number of at least 1")
EMAIL_HOST = env_str("TONGBAN_EMAIL_HOST")
EMAIL_BACKEND = (
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "django.core.mail.backends.console.EmailBackend"
)
EMAIL_PORT = env_int("TONGBAN_EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("TONGBAN_EMAIL_USER")
EMAIL_HOST_PASSWORD = env_str("TONGBAN_EMAIL_PASSWORD")
EMAIL_USE_TLS = env_bool("TONGBAN_EMAIL_USE_TLS", default=False)
EMAIL_TIMEOUT = env_int("TONGBAN_EMAIL_TIMEOUT", 10)
DEFAULT_FROM_EMAIL = env_str("TONGBAN_EMAIL_FROM", "通办 <noreply@tongban.invalid>")

# --- Cases -------------------------------------------------------------------------------------
# 告知承诺: how long an applicant who broke a commitment is barred from the commitment route.
TONGBAN_COMMITMENT_BAR_YEARS = env_int("TONGBAN_COMMITMENT_BAR_YEARS", 3)
if TONGBAN_COMMITMENT_BAR_YEARS < 1:
    raise ConfigError(
        f"TONGBAN_COMMITMENT_BAR_YEARS={TONGBAN_COMMITMENT_BAR_YEARS}: "
        "expected a whole number of years, at least 1"
    )
# 红黄牌: a deadline turns yellow with this many working days left (or 20 % of its limit).
TONGBAN_YELLOW_WORKDAYS = env_int("TONGBAN_YELLOW_WORKDAYS", 2)
# 容缺受理: remind the applicant this many working days before a tolerated material is due (and
# on the due date); 0 sends only the due-date reminder.
TONGBAN_TOLERATED_REMINDER_WORKDAYS = env_int("TONGBAN_TOLERATED_REMINDER_WORKDAYS", 2)
if TONGBAN_TOLERATED_REMINDER_WORKDAYS < 0:
    raise ConfigError(
        f"TONGBAN_TOLERATED_REMINDER_WORKDAYS={TONGBAN_TOLERATED_REMINDER_WORKDAYS}: "
        "expected a whole number of at least 0"
    )

# Virus scanners every material upload passes (names registered in
# tongban.cases.materials.virus_scanners; ``manage.py check`` refuses an unknown one).
TONGBAN_VIRUS_SCANNERS = env_list("TONGBAN_VIRUS_SCANNERS", [])
TONGBAN_CLAMD_ADDRESS = env_str("TONGBAN_CLAMD_ADDRESS", "127.0.0.1:3310").strip()
TONGBAN_CLAMD_TIMEOUT = env_int("TONGBAN_CLAMD_TIMEOUT", 30)

# --- PDF documents (notices, decisions) ----------------------------------------------------------
# A TrueType (.ttf/.ttc) font with Chinese glyphs to embed; unset: the Debian font paths in
# tongban.core.pdf, else the built-in, not embedded STSong-Light.
TONGBAN_PDF_FONT = env_str("TONGBAN_PDF_FONT").strip()
if TONGBAN_PDF_FONT and not Path(TONGBAN_PDF_FONT).expanduser().is_file():
    raise ConfigError(f"TONGBAN_PDF_FONT={TONGBAN_PDF_FONT!r}: no such font file")
TONGBAN_PDF_FONT = str(Path(TONGBAN_PDF_FONT).expanduser()) if TONGBAN_PDF_FONT else ""

# --- Catalog ------------------------------------------------------------------------------------
TONGBAN_SEARCH_SYNONYMS = env_path(
    "TONGBAN_SEARCH_SYNONYMS", PACKAGE_DIR / "catalog" / "search_synonyms.yaml"
)
# How often a search checks whether the catalog changed (ms); a stale index keeps answering while
# a new one is built in the background. Tests check every time and rebuild synchronously.
TONGBAN_SEARCH_REFRESH_MS = env_int("TONGBAN_SEARCH_REFRESH_MS", 0 if TESTING else 1000)
TONGBAN_SEARCH_BACKGROUND_REBUILD = env_bool(
    "TONGBAN_SEARCH_BACKGROUND_REBUILD", default=not TESTING
)

# --- Data sharing: 数源 connectors (docs/adr/0004-data-sharing.md) ------------------------------
# Unset gateway URL: every source answers from the local registry (synthetic records, demo).
TONGBAN_SHARING_GATEWAY_URL = env_str("TONGBAN_SHARING_GATEWAY_URL")
TONGBAN_SHARING_GATEWAY_SOURCES = env_list("TONGBAN_SHARING_GATEWAY_SOURCES")
TONGBAN_SHARING_TIMEOUT_MS = env_int("TONGBAN_SHARING_TIMEOUT_MS", 3000)
TONGBAN_SHARING_RETRIES = env_int("TONGBAN_SHARING_RETRIES", 2)
TONGBAN_SHARING_BREAKER_FAILURES = env_int("TONGBAN_SHARING_BREAKER_FAILURES", 5)
TONGBAN_SHARING_BREAKER_COOLDOWN_SECONDS = env_int("TONGBAN_SHARING_BREAKER_COOLDOWN_SECONDS", 60)
_gateway: dict[str, object] = {
    "plugin": "http_json",
    "options": {
        "url": TONGBAN_SHARING_GATEWAY_URL,
        "timeout_ms": TONGBAN_SHARING_TIMEOUT_MS,
        "retries": TONGBAN_SHARING_RETRIES,
        "breaker_failures": TONGBAN_SHARING_BREAKER_FAILURES,
        "breaker_cooldown_s": TONGBAN_SHARING_BREAKER_COOLDOWN_SECONDS,
        "token_env": "TONGBAN_SHARING_GATEWAY_TOKEN",
    },
}
_local: dict[str, object] = {"plugin": "local_registry", "options": {}}
# source code (or "default") → {"plugin": key, "options": {...}}; validated at start-up.
TONGBAN_SHARING_CONNECTORS: dict[str, dict[str, object]] = {"default": _local}
if TONGBAN_SHARING_GATEWAY_URL and TONGBAN_SHARING_GATEWAY_SOURCES:
    TONGBAN_SHARING_CONNECTORS.update({s: _gateway for s in TONGBAN_SHARING_GATEWAY_SOURCES})
elif TONGBAN_SHARING_GATEWAY_URL:
    TONGBAN_SHARING_CONNECTORS["default"] = _gateway
# --- Licences: e-seal keys, signed QR, trust and status lists -----------------------------------
# Key-encryption key for e-seal private keys (Base64 of 32 random bytes); never commit it. Demo
# and test installations without one keep a generated key in var/licence-kek.
TONGBAN_LICENCE_KEK = env_str("TONGBAN_LICENCE_KEK")
TONGBAN_LICENCE_KMS = env_str("TONGBAN_LICENCE_KMS", "local")
TONGBAN_LICENCE_ALGORITHM = env_str("TONGBAN_LICENCE_ALGORITHM", "sm2")
TONGBAN_LICENCE_ISSUER = env_str("TONGBAN_LICENCE_ISSUER", "tongban")
TONGBAN_LICENCE_TRUST_LIST_HOURS = env_int("TONGBAN_LICENCE_TRUST_LIST_HOURS", 24)
TONGBAN_LICENCE_STATUS_LIST_MINUTES = env_int("TONGBAN_LICENCE_STATUS_LIST_MINUTES", 60)
TONGBAN_LICENCE_DYNAMIC_QR_SECONDS = env_int("TONGBAN_LICENCE_DYNAMIC_QR_SECONDS", 60)
if TONGBAN_LICENCE_ALGORITHM not in ("sm2", "ed25519"):
    raise ConfigError(
        f"TONGBAN_LICENCE_ALGORITHM={TONGBAN_LICENCE_ALGORITHM!r}: expected sm2 or ed25519"
    )
for _name, _value in [
    ("TONGBAN_LICENCE_TRUST_LIST_HOURS", TONGBAN_LICENCE_TRUST_LIST_HOURS),
    ("TONGBAN_LICENCE_STATUS_LIST_MINUTES", TONGBAN_LICENCE_STATUS_LIST_MINUTES),
    ("TONGBAN_LICENCE_DYNAMIC_QR_SECONDS", TONGBAN_LICENCE_DYNAMIC_QR_SECONDS),
]:
    if _value < 1:
        raise ConfigError(f"{_name}={_value}: expected a whole number of at least 1")

# --- Logging: structlog, JSON in production, readable in a console ------------------------------
LOG_LEVEL = env_str("TONGBAN_LOG_LEVEL", "INFO")
LOG_JSON = env_bool("TONGBAN_LOG_JSON", default=not DEBUG)
structlog.configure(
    processors=[
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso"),
        structlog.processors.JSONRenderer() if LOG_JSON else structlog.dev.ConsoleRenderer(),
    ],
    cache_logger_on_first_use=True,
)
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {"jieba": {"level": "WARNING"}},
}
