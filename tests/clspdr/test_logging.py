"""Logs (issue 7 point 5): time in UTC, level and logger on every line, in one format with
gunicorn's (clspdr/logs.py); a server error logged once; ADMINS told by e-mail."""

from __future__ import annotations

import logging
import re
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse
from django.urls import path

from clspdr import logs
from clspdr.env import env_addresses
from clspdr.logs import LOG_FORMAT, ErrorMailHandler, UTCFormatter
from tests.production_env import ROOT, production_env, run_python
from tests.silent_server import SilentServer

LOG_LINE = re.compile(
    r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (DEBUG|INFO|WARNING|ERROR|CRITICAL) [\w.]+ \[\d+\] "
)


def test_it_stamps_log_lines_in_utc_iso_8601_with_level_logger_and_process():
    record = logging.LogRecord("clspdr.example", logging.WARNING, __file__, 1, "bonjour", (), None)
    record.created, record.msecs, record.process = 0.25, 250.0, 42
    line = UTCFormatter(LOG_FORMAT).format(record)
    assert line == "1970-01-01T00:00:00.250Z WARNING clspdr.example [42] bonjour"


def test_it_writes_the_format_from_django_in_utc_whatever_the_time_zone():
    script = "import django, logging; django.setup(); logging.getLogger('clspdr.x').warning('hé')"
    env = {**production_env(DEBUG="1"), "TZ": "Pacific/Kiritimati"}  # UTC+14, TIME_ZONE Paris
    before = datetime.now(UTC) - timedelta(seconds=1)
    result = run_python(["-c", script], env)
    after = datetime.now(UTC) + timedelta(seconds=1)
    assert result.returncode == 0, result.stderr
    line = result.stderr.strip().splitlines()[-1]
    assert LOG_LINE.match(line), line
    assert " WARNING clspdr.x [" in line and line.endswith("] hé")
    stamp = datetime.fromisoformat(line.split()[0].replace("Z", "+00:00"))
    assert before <= stamp <= after, "the time is UTC, not the machine's or the site's"


@pytest.mark.parametrize("debug", ["1", "0"])
def test_it_logs_a_server_error_once(debug):
    """A refused database makes the login POST fail (its throttle counters are in the
    database): one "Internal Server Error" line, in development and in production alike."""
    script = (
        "import django; django.setup()\n"
        "from django.test import Client\n"
        "response = Client(raise_request_exception=False).post(\n"
        "    '/comptes/login/', {'login': 'x', 'password': 'y'})\n"
        "print(response.status_code)\n"
    )
    result = run_python(["-c", script], production_env(DEBUG=debug))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "500"
    errors = [line for line in result.stderr.splitlines() if "Internal Server Error" in line]
    assert len(errors) == 1, result.stderr
    assert LOG_LINE.match(errors[0]) and " ERROR django.request " in errors[0]


def test_it_logs_celery_beat_in_the_same_format(tmp_path):
    """Celery's own format ([date: LEVEL/Process]) gives way to the platform's, at LOG_LEVEL."""
    env = production_env(DEBUG="1", DATABASE_URL=None, LOG_LEVEL="INFO")
    log_path = tmp_path / "beat.log"
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "clspdr", "beat", "-s", str(tmp_path / "s")],
            cwd=ROOT,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while "beat: Starting" not in log_path.read_text() and time.monotonic() < deadline:
            if process.poll() is not None:
                break
            time.sleep(0.1)
    finally:
        process.terminate()
        process.wait(timeout=30)
    lines = log_path.read_text().splitlines()
    started = [line for line in lines if "beat: Starting" in line]
    assert started, "\n".join(lines)
    assert LOG_LINE.match(started[0]) and " INFO celery.beat " in started[0]


# --- Server errors reach someone --------------------------------------------------------------


def _failing_view(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("the plan could not be saved")


def _other_failing_view(request: HttpRequest) -> HttpResponse:
    raise KeyError("another bug")


urlpatterns = [
    path("boom/", _failing_view),
    path("boom/again/", _failing_view),
    path("other/", _other_failing_view),
]


@pytest.fixture
def mail_window():
    """A fresh one-mail-per-error window for the handler settings.LOGGING installed."""
    handlers = [h for h in logging.getLogger().handlers if isinstance(h, ErrorMailHandler)]
    assert handlers, "settings.LOGGING must install ErrorMailHandler on the root logger"
    for handler in handlers:
        handler.forget()
    yield
    for handler in handlers:
        handler.forget()


@pytest.mark.urls(__name__)
def test_it_mails_a_server_error_to_admins_once_without_the_request_data(
    client, settings, mail_window
):
    settings.ADMINS = [("Service informatique", "si@example.org")]
    client.raise_request_exception = False
    comment = "Mme Martin, suivie par la cellule, a déménagé"
    for url in ("/boom/", "/boom/", "/boom/again/"):
        assert client.post(url, {"comment": comment}).status_code == 500
    assert len(mail.outbox) == 1, "the same error within 5 minutes is mailed once"
    message = mail.outbox[0]
    assert message.to == ["si@example.org"]
    assert "Internal Server Error: /boom/" in message.subject
    assert "RuntimeError: the plan could not be saved" in message.body
    assert "Traceback" in message.body
    assert "Martin" not in message.body, "form fields stay out of e-mails"

    assert client.get("/other/").status_code == 500
    assert len(mail.outbox) == 2, "another error is mailed at once"
    assert "KeyError" in mail.outbox[1].body


def test_it_mails_nothing_without_admins(client, settings, mail_window):
    settings.ADMINS = []
    logging.getLogger("clspdr.example").error("nobody to tell")
    assert mail.outbox == []


def test_it_does_not_mail_requests_for_unknown_hosts(client, settings, mail_window):
    """A bot scanning with another Host header is not an error someone must fix."""
    settings.ADMINS = [("Service informatique", "si@example.org")]
    assert client.get("/", headers={"host": "scanner.example"}).status_code == 400
    assert mail.outbox == []


def test_it_reads_admins_from_the_environment(monkeypatch):
    monkeypatch.setenv("ADMINS", 'Service informatique <si@example.org>, "Dupont, Jean" <jd@x.fr>')
    assert env_addresses("ADMINS") == [
        ("Service informatique", "si@example.org"),
        ("Dupont, Jean", "jd@x.fr"),
    ]
    monkeypatch.setenv("ADMINS", "Dupont, Jean <jd@x.fr>")  # unquoted comma: "Dupont" alone
    with pytest.raises(ImproperlyConfigured, match="ADMINS must list e-mail addresses"):
        env_addresses("ADMINS")
    monkeypatch.delenv("ADMINS")
    assert env_addresses("ADMINS") == []


def test_it_warns_at_deployment_when_nobody_receives_server_errors():
    env = production_env(DATABASE_URL="postgres://clspdr:secret@db:5432/clspdr")
    warned = run_python(["manage.py", "check", "--deploy"], env)
    assert "clspdr.W001" in warned.stdout + warned.stderr
    told = run_python(["manage.py", "check", "--deploy"], {**env, "ADMINS": "si@example.org"})
    assert "clspdr.W001" not in told.stdout + told.stderr


@pytest.mark.urls(__name__)
def test_it_does_not_hold_the_request_when_the_mail_server_never_answers(
    client, settings, mail_window, monkeypatch
):
    monkeypatch.setattr(logs, "MAIL_TIMEOUT_SECONDS", 1)
    settings.ADMINS = [("Service informatique", "si@example.org")]
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_TIMEOUT = None  # the error mail brings its own
    client.raise_request_exception = False
    with SilentServer() as smtp:
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", smtp.port
        answered: list[int] = []
        thread = threading.Thread(target=lambda: answered.append(client.get("/boom/").status_code))
        thread.start()
        thread.join(timeout=20)
        assert not thread.is_alive(), "the failing request waited for the mail server"
        assert smtp.accepted.is_set()
    assert answered == [500]
