"""One settings module for every environment; production differs by environment only.

Embedded default (no variable set besides DEBUG=1): SQLite, tasks run in-process.
`DATABASE_URL` switches to PostgreSQL, `REDIS_URL` to Redis as Celery broker and cache.
Every variable is listed in the README.
"""

import sys
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from clspdr.db import postgresql_timeouts
from clspdr.env import (
    env_addresses,
    env_bool,
    env_int,
    env_list,
    env_str,
    is_local_address,
    is_local_url,
)
from clspdr.logs import logging_config

BASE_DIR = Path(__file__).resolve().parent.parent
TESTING = "pytest" in sys.modules

DEBUG = env_bool("DEBUG", False)

SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not (DEBUG or TESTING):
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = "django-insecure-development-key-never-used-in-production"
SECRET_KEY_FALLBACKS = env_list("SECRET_KEY_FALLBACKS")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]" if DEBUG or TESTING else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

TOWN_NAME = env_str("TOWN_NAME", "Manosque")
SITE_NAME = env_str("SITE_NAME", f"CLSPDR de {TOWN_NAME}")
# Absolute links in every e-mail: background jobs have no request, and a request's Host header
# must not choose where a password-reset link leads (clspdr/adapters.py). In development the
# default follows the port `make run` serves (PORT, exported by the Makefile).
SITE_URL = env_str("SITE_URL", f"http://127.0.0.1:{env_int('PORT', 8000)}")
if not (DEBUG or TESTING) and is_local_url(SITE_URL):
    raise ImproperlyConfigured(
        f"SITE_URL must be the public address of the site when DEBUG is off, "
        f"e.g. https://clspdr.example.org (got {SITE_URL!r}): every link in an e-mail "
        f"is built from it."
    )

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "allauth",
    "allauth.account",
    "guardian",
    "django_filters",
    "django_htmx",
    "template_partials",
    "clspdr",
    "governance",
    "axes",
    "actions",
    "observatory",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_permissions_policy.PermissionsPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "clspdr.middleware.IdleSessionRefreshMiddleware",
    "clspdr.middleware.AbsoluteSessionLifetimeMiddleware",
    "clspdr.middleware.ClearSiteDataOnLogoutMiddleware",
    "clspdr.middleware.NoStoreForAuthenticatedMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "clspdr.urls"
WSGI_APPLICATION = "clspdr.wsgi.application"

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
                "clspdr.context_processors.site",
                "clspdr.session.session_timeout",
            ],
            "builtins": ["clspdr.templatetags.clspdr"],
        },
    },
]

# --- Data ---------------------------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL")
# A database that accepts connections but never answers must not hold a worker for good:
# connecting gives up after DB_CONNECT_TIMEOUT, and the server cancels a statement, a lock
# wait or a transaction left idle after the other timeouts (seconds; 0 turns one off).
DB_CONNECT_TIMEOUT = env_int("DB_CONNECT_TIMEOUT", 5)
DB_STATEMENT_TIMEOUT = env_int("DB_STATEMENT_TIMEOUT", 30)
DB_LOCK_TIMEOUT = env_int("DB_LOCK_TIMEOUT", 10)
DB_IDLE_IN_TRANSACTION_TIMEOUT = env_int("DB_IDLE_IN_TRANSACTION_TIMEOUT", 60)
if DATABASE_URL:
    DATABASES = {
        "default": dj_database_url.parse(
            DATABASE_URL, conn_max_age=env_int("CONN_MAX_AGE", 60), conn_health_checks=True
        )
    }
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        DATABASES["default"]["OPTIONS"] = postgresql_timeouts(
            DATABASES["default"].get("OPTIONS", {}),
            connect=DB_CONNECT_TIMEOUT,
            statement=DB_STATEMENT_TIMEOUT,
            lock=DB_LOCK_TIMEOUT,
            idle_in_transaction=DB_IDLE_IN_TRANSACTION_TIMEOUT,
        )
else:
    if not (DEBUG or TESTING):
        raise ImproperlyConfigured("DATABASE_URL must be set when DEBUG is off.")
    (BASE_DIR / "var").mkdir(exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(BASE_DIR / "var" / "db.sqlite3"),
            "OPTIONS": {"timeout": 20, "transaction_mode": "IMMEDIATE"},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_str("REDIS_URL")
# The default cache holds the login throttling counters (and, later, the TOTP replay guard):
# they must be shared by every process and must not fail open nor lock people out when Redis
# is away, so they live in the database. Redis, when configured, is the Celery broker and a
# second cache for data whose loss is harmless.
CACHES: dict[str, dict[str, object]] = {
    "default": {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "clspdr_cache",
    }
}
if REDIS_URL:
    CACHES["redis"] = {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
    }

MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(BASE_DIR / "var" / "media")))
FILE_UPLOAD_PERMISSIONS = 0o600
STATIC_URL = "/static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "var" / "static")))
STATICFILES_DIRS = [BASE_DIR / "static"]
if DEBUG or TESTING:
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # WhiteNoise warns on every request otherwise
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG or TESTING
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# --- Celery: Redis when REDIS_URL is set, otherwise tasks run in-process -----------------------
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True  # long jobs are database rows, not Celery results
# Tasks are idempotent and acknowledged once done: a worker that dies (killed, out of memory,
# host lost) leaves its message unacknowledged, and Redis hands it to a worker again after the
# visibility timeout. Redis's default is one hour; a few minutes here, but always more than the
# longest a task may run (its hard time limit), or a task still running would be delivered a
# second time (tests/clspdr/test_background_jobs.py checks it). A retry waits in the broker only
# when its countdown fits in it too (actions/tasks.py).
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_WORKER_MAX_TASKS_PER_CHILD = 50
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SOFT_TIME_LIMIT = 270
broker_visibility_timeout = env_int("CELERY_VISIBILITY_TIMEOUT", 420)
if broker_visibility_timeout <= 0:
    raise ImproperlyConfigured("CELERY_VISIBILITY_TIMEOUT must be a positive number of seconds.")
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "socket_connect_timeout": 2,
    "socket_timeout": 5,
    "visibility_timeout": broker_visibility_timeout,
    # kombu looks for expired messages only every 10th sweep of 10 s by default (100 s): look at
    # every sweep, and sweep often enough for a short timeout. One small Redis query each time.
    "unacked_restore_interval": max(1, min(10, broker_visibility_timeout // 10)),
    "unacked_restore_throttle": 1,
}
# Retry the broker forever: by default a worker gives up after 100 attempts (about 50 minutes
# of Redis outage) and exits for good; this way it resumes by itself when Redis comes back, at
# startup as well as later. The supervisor (compose, systemd) still restarts it if it dies.
CELERY_BROKER_CONNECTION_RETRY = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
# A task running when the connection drops finishes (its acknowledgement is lost, so Redis
# gives it again after the visibility timeout, and the idempotent task then does nothing).
# Cancelling it, Celery 6's default, could cut a reminder between sending and marking it sent.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = False
CELERY_TIMEZONE = "Europe/Paris"
CELERY_BEAT_SCHEDULE = {
    # /healthz reports when beat last sent it and a worker last ran it (clspdr/heartbeats.py).
    "heartbeat": {
        "task": "clspdr.tasks.heartbeat_task",
        "schedule": 60.0,
        "options": {"expires": 50},  # a worker back from an outage skips the backlog
    },
    # Every quarter of an hour, and it sends only what this week has not received yet, never
    # before Monday 08:30 local time (actions/reminders.py): a run missed because the database
    # or Redis was down, or beat was restarting, is caught up by the next one. Its runs also
    # pick up the reminders whose retry is due.
    "remind-stale-actions": {
        "task": "actions.tasks.remind_stale_actions_task",
        "schedule": crontab(minute="*/15"),
    },
    # Hourly: expired sessions stay in the database until deleted (Django's `clearsessions`).
    "clear-expired-sessions": {
        "task": "clspdr.tasks.clear_expired_sessions_task",
        "schedule": crontab(minute=40),
    },
}
STALE_ACTION_DAYS = env_int("STALE_ACTION_DAYS", 90)

# --- Accounts ---------------------------------------------------------------------------
AUTH_USER_MODEL = "clspdr.User"
# One password backend (allauth's, see clspdr/auth_backends.py): with a second one a wrong
# password cost two hashes and a right one a single hash, which told them apart by timing.
# Guardian's backend checks no password; it answers object permissions.
AUTHENTICATION_BACKENDS = [
    "clspdr.auth_backends.AuthenticationBackend",
    "guardian.backends.ObjectPermissionBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {  # CNIL deliberation 2022-100: at least 12 characters
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    # Django's list, a French one, the town and site names (clspdr/passwords.py)
    {"NAME": "clspdr.passwords.FrenchCommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
ACCOUNT_LOGOUT_REDIRECT_URL = "account_login"
ACCOUNT_ADAPTER = "clspdr.adapters.AccountAdapter"
ACCOUNT_FORMS = {"login": "clspdr.forms.LoginForm"}
ACCOUNT_LOGIN_METHODS = {"username", "email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "username*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_SESSION_REMEMBER = False
ACCOUNT_LOGOUT_ON_GET = False
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_LOGIN_ON_PASSWORD_RESET = False
ACCOUNT_PASSWORD_MIN_LENGTH = 12
ACCOUNT_REAUTHENTICATION_REQUIRED = True  # T-33: sensitive account changes ask the password again
ACCOUNT_EMAIL_UNKNOWN_ACCOUNTS = False  # sign-up is closed: never mail unknown addresses
ACCOUNT_EMAIL_NOTIFICATIONS = True  # "your password was changed" goes to the account owner
# Throttling without telling whether the account exists: per IP and per account (the lock key
# is built in clspdr/adapters.py, never from the Host header). /admin/login/ sends people to
# this same login (clspdr/urls.py), so both doors share these counters.
ACCOUNT_RATE_LIMITS = {
    "login_failed": "10/m/ip,5/5m/key",
    "reset_password": "5/m/ip,3/5m/key",
    "reset_password_from_key": "20/m/ip",
    "change_password": "5/m/user",
}
GUARDIAN_RAISE_403 = False
ANONYMOUS_USER_NAME = None  # no guardian anonymous user: anonymous sees nothing

# Sessions live in the database so a Redis outage logs nobody out. The idle deadline
# (SESSION_COOKIE_AGE after the last save) is pushed forward at most once a
# SESSION_REFRESH_INTERVAL by clspdr/middleware.py, not by a write on every request: a session
# ends 29 to 30 minutes after the last request, and a page read writes nothing.
SESSION_ENGINE = "django.contrib.sessions.backends.db"
SESSION_COOKIE_AGE = env_int("SESSION_IDLE_TIMEOUT", 30 * 60)
SESSION_SAVE_EVERY_REQUEST = False
SESSION_REFRESH_INTERVAL = 60
if not 0 < SESSION_REFRESH_INTERVAL < SESSION_COOKIE_AGE:
    raise ImproperlyConfigured("SESSION_IDLE_TIMEOUT must be longer than one minute.")
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_ABSOLUTE_LIFETIME = env_int("SESSION_ABSOLUTE_LIFETIME", 10 * 60 * 60)

# --- Security headers -------------------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
HTTPS = env_bool("HTTPS", not DEBUG and not TESTING)
if HTTPS:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31_536_000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SESSION_COOKIE_NAME = "__Host-sessionid"
    CSRF_COOKIE_NAME = "__Host-csrftoken"
BEHIND_PROXY = env_bool("BEHIND_PROXY", False)
if BEHIND_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Login throttling counts per client address: behind the proxy, take it from X-Forwarded-For.
ALLAUTH_TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 1 if BEHIND_PROXY else 0)
CSRF_FAILURE_VIEW = "clspdr.errors.csrf_failure"  # htmx gets HX-Redirect to the login page
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "form-action": [SELF],
        "base-uri": [SELF],
        "object-src": [NONE],
        "frame-ancestors": [NONE],
    }
}
PERMISSIONS_POLICY: dict[str, list[str]] = {
    "camera": [],
    "geolocation": [],
    "microphone": [],
    "payment": [],
    "usb": [],
}

# --- E-mail -------------------------------------------------------------------------------
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_FILE_PATH = env_str("EMAIL_FILE_PATH", str(BASE_DIR / "var" / "mail"))
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)  # STARTTLS, usually port 587
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)  # TLS from the first byte, usually port 465
if EMAIL_USE_TLS and EMAIL_USE_SSL:
    raise ImproperlyConfigured(
        "EMAIL_USE_TLS (STARTTLS, port 587) and EMAIL_USE_SSL (implicit TLS, port 465) exclude "
        "each other: set only the one your mail server expects."
    )
# Seconds an SMTP connection waits for each answer. Without it a mail server that hangs holds
# the sender (a worker, or the request of a password reset) for as long as the kernel lets it.
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10)
if EMAIL_TIMEOUT <= 0:
    raise ImproperlyConfigured("EMAIL_TIMEOUT must be a positive number of seconds.")
# A background e-mail that failed is tried again after this many seconds, then twice as long
# at each new failure (actions/reminders.py).
EMAIL_RETRY_DELAY = env_int("EMAIL_RETRY_DELAY", 60)
if EMAIL_RETRY_DELAY <= 0:
    raise ImproperlyConfigured("EMAIL_RETRY_DELAY must be a positive number of seconds.")
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", f"{SITE_NAME} <clspdr@localhost>")
if not (DEBUG or TESTING) and is_local_address(DEFAULT_FROM_EMAIL):
    raise ImproperlyConfigured(
        f"DEFAULT_FROM_EMAIL must be an address of the commune's mail domain when DEBUG is "
        f"off, e.g. 'CLSPDR <clspdr@example.org>' (got {DEFAULT_FROM_EMAIL!r}): mail servers "
        f"reject or bin messages from localhost."
    )
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Who receives server errors (clspdr/logs.py): "Name <address>, Other <address>".
ADMINS = env_addresses("ADMINS")
EMAIL_SUBJECT_PREFIX = f"[{SITE_NAME}] "

# --- Internationalisation: French first -----------------------------------------------------
LANGUAGE_CODE = "fr"
# French only until every page is translated: the page templates are French without
# translation tags, so offering English gave French pages marked lang="en". Model labels stay
# translatable (gettext_lazy, locale/en) for the day a full translation exists.
LANGUAGES = [("fr", "Français")]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = "Europe/Paris"
FORMAT_MODULE_PATH = ["clspdr.formats"]

# Time (UTC), level and logger on every line, the same format as gunicorn.conf.py; errors are
# written once and mailed to ADMINS (clspdr/logs.py).
LOG_LEVEL = env_str("LOG_LEVEL", "INFO").upper()
LOGGING = logging_config(LOG_LEVEL, for_django=True)
