"""Django settings, all from the environment.

- ``DATABASE_URL``: PostgreSQL in production (``postgres://user@host:5432/rasure``).
  Unset: SQLite in the data folder, WAL journal and ``synchronous=FULL``.
- ``RASURE_HOME``: the data folder (default ``./var``).
- ``RASURE_ENV``: ``production`` refuses to start with a placeholder secret key or DEBUG on.
- ``RASURE_SECRET_KEY``, ``RASURE_ALLOWED_HOSTS`` (comma separated), ``RASURE_DEBUG``,
  ``RASURE_SESSIONS_IN_CACHE`` (1; 0 when several app hosts serve one database, see docs/deploy.md).
- ``RASURE_DB_POOLER``: ``transaction`` when ``DATABASE_URL`` is PgBouncer in transaction mode
  (server-side cursors off); empty (default) or ``session`` otherwise.
- Sign-in (docs/signing-in.md): ``RASURE_LOGIN_FAILURE_LIMIT`` (5), ``RASURE_LOGIN_LOCKOUT_MINUTES`` (30),
  ``RASURE_SESSION_IDLE_MINUTES`` (30), ``RASURE_PATROL_SESSION_IDLE_MINUTES`` (600),
  ``RASURE_SUPPORT_CONTACT`` (whom to ask, shown on the refusal and lockout pages).
- ``RASURE_PARTNER_SMALL_NUMBER_THRESHOLD`` (5): the partner portal's small-number threshold.
- HTTPS in production (docs/deploy.md): ``RASURE_BEHIND_PROXY``, ``RASURE_SSL_REDIRECT``,
  ``RASURE_HSTS_SECONDS``, ``RASURE_HSTS_INCLUDE_SUBDOMAINS``, ``RASURE_HSTS_PRELOAD``.
- ``RASURE_PING_RETENTION_DAYS`` (90, a placeholder): GPS pings older than this are deleted by
  ``rasure patrol prune-pings``; ``RASURE_AUDIT_KEY`` signs the access-log checkpoints.
- Scheduled jobs (django-q2, docs/deploy.md "Scheduled jobs"): ``RASURE_DROP_ROOT`` (drop folders, one per
  force code; default ``$RASURE_HOME/drop``), ``RASURE_DROP_SETTLE_SECONDS`` (60), ``RASURE_JOB_*`` (when
  each job runs), ``RASURE_AUDIT_CHECKPOINT_FILE``, ``RASURE_WORKER_PROCESSES``.
- ``RASURE_OIDC_*``: single sign-on over OpenID Connect (docs/signing-in.md); unset = local passwords only.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from rasure_web.accounts.sso_config import SsoConfigError, oidc_from_env

BASE_DIR = Path(__file__).resolve().parent
RASURE_HOME = Path(os.environ.get("RASURE_HOME", Path.cwd() / "var")).resolve()
RASURE_ENV = os.environ.get("RASURE_ENV", "development")
PRODUCTION = RASURE_ENV == "production"

PLACEHOLDER_SECRET = "insecure-development-key-change-me"
SECRET_KEY = os.environ.get("RASURE_SECRET_KEY", PLACEHOLDER_SECRET)
DEBUG = os.environ.get("RASURE_DEBUG", "0" if PRODUCTION else "1") == "1"
ALLOWED_HOSTS = [
    h.strip() for h in os.environ.get("RASURE_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]").split(",")
]

if PRODUCTION:
    if SECRET_KEY == PLACEHOLDER_SECRET or len(SECRET_KEY) < 40:
        raise ImproperlyConfigured(
            "RASURE_ENV=production but RASURE_SECRET_KEY is unset, the placeholder, or shorter than 40 "
            "characters. Generate one with: python -c 'import secrets; print(secrets.token_urlsafe(50))'"
        )
    if DEBUG:
        raise ImproperlyConfigured("RASURE_ENV=production refuses RASURE_DEBUG=1.")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "axes",
    "rasure_web.accounts",
    "rasure_web.crimes",
    "rasure_web.analysis",
    "rasure_web.trials",
    "rasure_web.patrols",
    "rasure_web.dashboard",
    "rasure_web.programme",
    "rasure_web.people",
    "rasure_web.partners",
    "rasure_web.jobs",
    "django_q",
    "csp",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Pages and API answers gzipped for browsers that accept it (static files are WhiteNoise's, already
    # compressed, and never reach it). Django's own middleware pads each answer with random bytes
    # ("Heal the Breach") against BREACH-style guessing; CSRF tokens are masked per response anyway.
    "django.middleware.gzip.GZipMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "rasure_web.accounts.middleware.IdleTimeoutMiddleware",
    "rasure_web.accounts.tenancy.ActingForceMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "rasure_web.middleware.NoStoreMiddleware",
    # Last, as django-axes asks: turns a refused (locked-out) sign-in into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "rasure_web.urls"
WSGI_APPLICATION = "rasure_web.wsgi.application"

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
                "rasure_web.accounts.context.roles",
            ],
        },
    },
]

_db_url = os.environ.get("DATABASE_URL", "")
if _db_url:
    DATABASES = {"default": dj_database_url.parse(_db_url, conn_max_age=60)}
    # RASURE_DB_POOLER=transaction: DATABASE_URL is a pooler in transaction mode (PgBouncer
    # pool_mode=transaction), which lends a PostgreSQL connection for one transaction at a time, so
    # Django must not use server-side (named) cursors: they would outlive the transaction they were
    # opened in (docs/deploy.md, "Deploying at scale").
    _pooler = os.environ.get("RASURE_DB_POOLER", "")
    if _pooler not in ("", "session", "transaction"):
        raise ImproperlyConfigured(
            f"RASURE_DB_POOLER must be empty (no pooler), session or transaction, got {_pooler!r}."
        )
    DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = _pooler == "transaction"
else:
    RASURE_HOME.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": RASURE_HOME / "rasure.sqlite3",
            "OPTIONS": {
                # WAL lets readers carry on while an import writes; FULL syncs every commit,
                # so a patrol record acknowledged to a phone survives a power cut.
                "init_command": (
                    "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; "
                    "PRAGMA cache_size=-131072; PRAGMA temp_store=MEMORY;"
                ),
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
            },
            "TEST": {"NAME": RASURE_HOME / "test-rasure.sqlite3"},
        }
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Dashboard aggregates are cached per data version (see rasure_web.dashboard.selectors.data_version) in
# files under RASURE_HOME, so the `rasure import` process can warm them for the web server.
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": str(RASURE_HOME / "cache"),
        "OPTIONS": {"MAX_ENTRIES": 2000},
    }
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-gb"
TIME_ZONE = os.environ.get("RASURE_TIME_ZONE", "Europe/London")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = RASURE_HOME / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# Base map tiles for the dashboard map. Empty = no base map (boundaries and data still show).
RASURE_MAP_TILES = os.environ.get("RASURE_MAP_TILES", "https://tile.openstreetmap.org/{z}/{x}/{y}.png")
RASURE_MAP_ATTRIBUTION = os.environ.get("RASURE_MAP_ATTRIBUTION", "© OpenStreetMap contributors")

# Hot people (docs/hot-people.md): overrides of the rules in rasure.people.Rules, e.g.
# {"review_days": 60, "knife_min_events": 3}. Empty = the defaults, which are still to be confirmed.
RASURE_PEOPLE_RULES: dict[str, object] = {}

# Tests only: the patrol app stamps positions with the page's (simulated) clock so browser tests can
# walk through a geofence in seconds. Ignored when RASURE_ENV=production.
RASURE_PATROL_SIMULATION = False
# Days GPS pings are kept (rasure_web.patrols.retention); 90 is a placeholder: set the force's own period.
RASURE_PING_RETENTION_DAYS = int(os.environ.get("RASURE_PING_RETENTION_DAYS", "90"))


def _positive_int(name: str, default: int) -> int:
    raw = os.environ.get(name, str(default))
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, got {raw!r}.") from None
    if value < 1:
        raise ImproperlyConfigured(f"{name} must be 1 or more, got {value}.")
    return value


# Sign-in lockout (django-axes, docs/signing-in.md): after RASURE_LOGIN_FAILURE_LIMIT wrong passwords
# for one username from one address, that username is refused from that address for
# RASURE_LOGIN_LOCKOUT_MINUTES, even with the right password. A wrong password during the lock starts
# the lock again. Administrators lift a lock early with `rasure manage axes_reset_username NAME`.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    # ModelBackend, reading the user's roles with the user (one query per request, not two).
    "rasure_web.accounts.backends.RolesModelBackend",
]
RASURE_LOGIN_FAILURE_LIMIT = _positive_int("RASURE_LOGIN_FAILURE_LIMIT", 5)
RASURE_LOGIN_LOCKOUT_MINUTES = _positive_int("RASURE_LOGIN_LOCKOUT_MINUTES", 30)
AXES_FAILURE_LIMIT = RASURE_LOGIN_FAILURE_LIMIT
AXES_COOLOFF_TIME = timedelta(minutes=RASURE_LOGIN_LOCKOUT_MINUTES)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_LOCKOUT_CALLABLE = "rasure_web.accounts.views.locked_out"  # registration/locked_out.html, status 429
AXES_RESET_ON_SUCCESS = True
# Rasure's own access log records every sign-in (rasure_web.accounts.signin); axes keeps only the
# failed attempts it needs to count.
AXES_DISABLE_ACCESS_LOG = True
AXES_VERBOSE = False

# Idle timeout (rasure_web.accounts.middleware): a dashboard session ends after
# RASURE_SESSION_IDLE_MINUTES without a request; the patrol app (/patrol/ and /api/patrol/) allows
# RASURE_PATROL_SESSION_IDLE_MINUTES (default a 10-hour shift), since an officer keeps it open through
# a 15-minute visit without touching it.
# Whom people should ask for an account, a role or an unlock (shown on the refusal and lockout pages).
RASURE_SUPPORT_CONTACT = os.environ.get("RASURE_SUPPORT_CONTACT", "your force's Rasure administrator")
RASURE_SESSION_IDLE_MINUTES = _positive_int("RASURE_SESSION_IDLE_MINUTES", 30)
# The partner portal shows counts below this as "fewer than N" (docs/partners.md); an agreement may
# raise it for its own organisation, never lower it.
RASURE_PARTNER_SMALL_NUMBER_THRESHOLD = _positive_int("RASURE_PARTNER_SMALL_NUMBER_THRESHOLD", 5)
RASURE_PATROL_SESSION_IDLE_MINUTES = _positive_int("RASURE_PATROL_SESSION_IDLE_MINUTES", 600)
# Single sign-on (OpenID Connect): None = off. Read at request time by rasure_web.accounts.sso.
try:
    RASURE_OIDC = oidc_from_env(os.environ)
except SsoConfigError as exc:
    raise ImproperlyConfigured(str(exc)) from exc
# The OpenID Connect backend only ever answers a callback from the configured provider.
AUTHENTICATION_BACKENDS.append("rasure_web.accounts.sso.RasureOIDCBackend")

LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

# Sessions are read from the cache (written through to the database), so a request spends no query on
# its session; the idle timeout writes a session at most once a minute. The cache is files under
# RASURE_HOME, shared by the workers of one host. Several app *hosts* do not share it (a host's copy
# would outlive a sign-out on another): set RASURE_SESSIONS_IN_CACHE=0 there (docs/deploy.md).
SESSION_ENGINE = (
    "django.contrib.sessions.backends.cached_db"
    if os.environ.get("RASURE_SESSIONS_IN_CACHE", "1") != "0"
    else "django.contrib.sessions.backends.db"
)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = 12 * 3600  # one shift
SESSION_COOKIE_SECURE = PRODUCTION
CSRF_COOKIE_SECURE = PRODUCTION
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"


def _flag(name: str, default: bool) -> bool:
    return os.environ.get(name, "1" if default else "0").strip().lower() in ("1", "true", "yes", "on")


if PRODUCTION:
    # HTTPS only (docs/deploy.md). Behind a TLS-terminating proxy (nginx, a load balancer) that sets
    # X-Forwarded-Proto and strips it from clients, RASURE_BEHIND_PROXY=1 lets Django see the request
    # was HTTPS; never set it without such a proxy, or any client could claim HTTPS.
    if _flag("RASURE_BEHIND_PROXY", False):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = _flag("RASURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = int(os.environ.get("RASURE_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = _flag("RASURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = _flag("RASURE_HSTS_PRELOAD", True)
    CSRF_TRUSTED_ORIGINS = [o for o in os.environ.get("RASURE_CSRF_TRUSTED_ORIGINS", "").split(",") if o]


def tile_source(template: str) -> list[str]:
    """The CSP source for a tile URL template: its scheme and host, ``{s}`` subdomains as ``*``.

    >>> tile_source("https://{s}.tile.example.org/{z}/{x}/{y}.png")
    ['https://*.tile.example.org']
    >>> tile_source("")
    []
    """
    from urllib.parse import urlsplit

    if not template.strip():
        return []
    parts = urlsplit(template.replace("{s}", "subdomain-placeholder"))
    if not parts.scheme or not parts.netloc:
        return []
    host = parts.netloc.replace("subdomain-placeholder", "*")
    return [f"{parts.scheme}://{host}"]


# Content-Security-Policy (django-csp 4): scripts and styles from our own static files only (no inline
# script, no eval, no inline style attributes); images also as data: URLs (Leaflet) and from the map's
# tile server. Leaflet and Swagger UI set styles through the CSSOM, which style-src does not govern.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:", *tile_source(RASURE_MAP_TILES)],
        "connect-src": [SELF],
        "font-src": [SELF],
        "manifest-src": [SELF],
        "worker-src": [SELF],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
        "base-uri": [SELF],
        "object-src": [NONE],
    }
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("RASURE_LOG_LEVEL", "WARNING")},
}


# Scheduled jobs (docs/deploy.md "Scheduled jobs"): django-q2 with its ORM broker, so the queue and the
# schedules live in the application's own database (SQLite or PostgreSQL) and `rasure worker` runs them.
RASURE_DROP_ROOT = Path(os.environ.get("RASURE_DROP_ROOT", "") or RASURE_HOME / "drop").resolve()
# a file modified less than this many seconds ago may still be being written: it waits for the next run
RASURE_DROP_SETTLE_SECONDS = int(os.environ.get("RASURE_DROP_SETTLE_SECONDS", "60"))
RASURE_JOB_DROP_MINUTES = _positive_int("RASURE_JOB_DROP_MINUTES", 10)
RASURE_JOB_CHECKPOINT_MINUTES = _positive_int("RASURE_JOB_CHECKPOINT_MINUTES", 5)
RASURE_JOB_TRIAL_AUDIT_CRON = os.environ.get("RASURE_JOB_TRIAL_AUDIT_CRON", "20 6 * * *")
RASURE_JOB_PRUNE_PINGS_CRON = os.environ.get("RASURE_JOB_PRUNE_PINGS_CRON", "30 2 * * *")
RASURE_AUDIT_CHECKPOINT_FILE = Path(
    os.environ.get("RASURE_AUDIT_CHECKPOINT_FILE", "") or RASURE_HOME / "audit-checkpoints.jsonl"
)
_job_timeout = _positive_int("RASURE_JOB_TIMEOUT_SECONDS", 3 * 3600)  # a large import plus a hot-spot build
Q_CLUSTER = {
    "name": "rasure",
    "orm": "default",  # the ORM broker: queue rows in the application's database
    # SQLite takes one writer at a time: one worker process; PostgreSQL: 2 by default, more hosts may run workers
    "workers": _positive_int(
        "RASURE_WORKER_PROCESSES", 1 if DATABASES["default"]["ENGINE"].endswith("sqlite3") else 2
    ),
    "timeout": _job_timeout,
    "retry": _job_timeout + 600,  # must exceed the timeout, or a long job would be started twice
    "max_attempts": 1,  # a failed job is not retried by itself: the next scheduled run tries again
    "catch_up": False,  # a worker that was down runs a missed daily job once, not once per missed day
    "save_limit": 1000,
    "ack_failures": True,
    "poll": 2,
    "label": "Scheduled jobs",
}
