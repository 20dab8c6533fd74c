"""One log format for Django, Celery and gunicorn, and server errors mailed to ADMINS.

Every line reads `2026-05-04T06:30:00.123Z ERROR django.request [42] Internal Server Error: /`:
time in UTC (ISO 8601), level, logger, process. settings.LOGGING and gunicorn.conf.py both
build their configuration with `logging_config`, so the web, the worker and beat write the
same lines to standard error. This module imports nothing from Django at import time: the
gunicorn master reads it before any Django setup.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime
from typing import Any

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(process)d] %(message)s"
# One mail per distinct error and process in this window: a database outage turns every
# request into the same error, and a thousand such mails would bury the first one.
MAIL_REPEAT_SECONDS = 300.0
# The mail goes out from the failing request or task: a mail server that does not answer must
# not hold it longer than this, whatever EMAIL_TIMEOUT says.
MAIL_TIMEOUT_SECONDS = 10


class UTCFormatter(logging.Formatter):
    """ISO 8601 time in UTC with milliseconds, whatever TIME_ZONE the site uses."""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        moment = datetime.fromtimestamp(record.created, tz=UTC)
        return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class ErrorMailHandler(logging.Handler):
    """Mail ERROR records to settings.ADMINS: the message and the traceback, nothing more.

    Django's AdminEmailHandler also copies the request's POST data, cookies and headers: a
    status update's comment or a cell's case notes would travel by e-mail. The mail names the
    error; the logs, on the server, hold the rest.
    """

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self._last_sent: dict[tuple[str, str, str], float] = {}
        self._sent_lock = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        from django.conf import settings
        from django.core.mail import get_connection, mail_admins

        if settings.DEBUG or not settings.ADMINS or not self._first_in_window(record):
            return
        try:
            subject = f"{record.levelname} {record.name}: {record.getMessage()}"
            mail_admins(
                _one_line(subject)[:180],
                self.format(record),
                fail_silently=True,
                connection=get_connection(fail_silently=True, timeout=MAIL_TIMEOUT_SECONDS),
            )
        except Exception:
            self.handleError(record)

    def _first_in_window(self, record: logging.LogRecord) -> bool:
        # The same error is the same logger, message template and exception class: every page
        # failing on the same dead database is one error, whatever the path or task id.
        exception = record.exc_info[0].__name__ if record.exc_info and record.exc_info[0] else ""
        key = (record.name, str(record.msg), exception)
        now = time.monotonic()
        with self._sent_lock:
            last = self._last_sent.get(key)
            if last is not None and now - last < MAIL_REPEAT_SECONDS:
                return False
            self._last_sent[key] = now
            return True

    def forget(self) -> None:
        """Start a new window for every error (tests)."""
        with self._sent_lock:
            self._last_sent.clear()


class SkipHealthProbeResponse(logging.Filter):
    """Drop Django's "Service Unavailable: /healthz" line.

    /healthz answers 503 on purpose (database down, or another probe running) and its probe
    already logged why, as a warning; Django's generic line would repeat it as an error, and
    mail it, every 30 seconds.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        request = getattr(record, "request", None)
        match = getattr(request, "resolver_match", None)
        return not (
            getattr(record, "status_code", None) == 503 and match and match.url_name == "healthz"
        )


def _one_line(text: str) -> str:
    return " ".join(text.split())


def logging_config(level: str, *, for_django: bool) -> dict[str, Any]:
    """The dictConfig shared by Django (for_django=True) and the gunicorn master (False).

    Every logger propagates to the root and only the root has handlers, so a record is
    written once: Django's own `django` handlers (console in DEBUG, mail_admins otherwise)
    are replaced, or a server error would be printed twice in development and mailed twice.
    """
    handlers = ["console", "mail_errors"] if for_django else ["console"]
    config: dict[str, Any] = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"utc": {"()": UTCFormatter, "format": LOG_FORMAT}},
        "handlers": {
            "console": {"class": "logging.StreamHandler", "formatter": "utc"},
        },
        "root": {"handlers": handlers, "level": level},
        "loggers": {
            name: {"handlers": [], "level": "NOTSET", "propagate": True}
            for name in ("django", "django.server", "gunicorn.error", "gunicorn.access")
        },
    }
    if for_django:
        config["handlers"]["mail_errors"] = {"()": ErrorMailHandler, "formatter": "utc"}
        config["filters"] = {"skip_health_probe": {"()": SkipHealthProbeResponse}}
        config["loggers"]["django.request"] = {
            "handlers": [],
            "level": "NOTSET",
            "propagate": True,
            "filters": ["skip_health_probe"],
        }
        # A request with an unknown Host is a bot's scan, not an error someone must fix.
        config["loggers"]["django.security.DisallowedHost"] = {
            "handlers": ["console"],
            "level": "ERROR",
            "propagate": False,
        }
    return config
