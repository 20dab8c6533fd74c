"""`/healthz` (T-51): the database decides up/down; Redis, the broker, the worker, beat and
the static files only degrade. Issue 7: bounded probes, one at a time, heartbeats."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import TypeVar

import pytest
import redis
from django.db import connections
from django.templatetags.static import static
from django.urls import reverse
from django.utils import timezone

from clspdr import health, probes
from clspdr.heartbeats import heartbeat_record
from clspdr.models import Heartbeat
from tests.silent_server import SilentServer

T = TypeVar("T")

HEALTHZ = reverse("healthz")
ROOT = Path(__file__).resolve().parents[2]
CLOSED_PORT_REDIS = "redis://127.0.0.1:6390/0"  # nothing listens there


def _use_redis(settings, url: str) -> None:
    """What settings.py derives from REDIS_URL, for the parts /healthz reads."""
    settings.REDIS_URL = url
    settings.CELERY_BROKER_URL = url
    settings.CELERY_TASK_ALWAYS_EAGER = False


@pytest.fixture
def live_redis_url() -> str:
    url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.RedisError:
        pytest.skip(f"no Redis at {url}")
    return url


def _embedded(settings) -> None:
    """No Redis: tasks run in-process (eager), no worker nor beat to expect."""
    _use_redis(settings, "")
    settings.CELERY_BROKER_URL = "memory://"
    settings.CELERY_TASK_ALWAYS_EAGER = True


def _fresh_heartbeats() -> None:
    for process in Heartbeat.Process:
        heartbeat_record(process=process)


def test_it_reports_ok_without_redis_configured(client, db, settings):
    """Eager mode: no worker, no beat, nothing to wait for."""
    _embedded(settings)
    response = client.get(HEALTHZ)
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "checks": {
            "database": "ok",
            "cache": "not_configured",
            "broker": "not_configured",
            "static": "not_configured",
            "worker": "not_configured",
            "beat": "not_configured",
        },
        "heartbeats": {"worker": None, "beat": None},
    }


def test_it_reports_ok_with_redis_up(client, db, settings, live_redis_url):
    _use_redis(settings, live_redis_url)
    _fresh_heartbeats()
    response = client.get(HEALTHZ)
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"] == {
        "database": "ok",
        "cache": "ok",
        "broker": "ok",
        "static": "not_configured",
        "worker": "ok",
        "beat": "ok",
    }


def test_it_stays_up_but_degraded_when_redis_is_down(client, db, settings):
    _use_redis(settings, CLOSED_PORT_REDIS)
    _fresh_heartbeats()
    response = client.get(HEALTHZ)
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    assert body["checks"] == {
        "database": "ok",
        "cache": "down",
        "broker": "down",
        "static": "not_configured",
        "worker": "ok",
        "beat": "ok",
    }


def test_it_is_never_cached_and_only_answers_get(client, db):
    response = client.get(HEALTHZ)
    assert "no-store" in response["Cache-Control"]
    assert client.post(HEALTHZ).status_code == 405


def test_it_needs_no_login(client, db):
    assert client.get(HEALTHZ).status_code == 200


def test_it_answers_over_plain_http_when_https_is_enforced(client, db, settings):
    """Container health checks call http://127.0.0.1:8000/healthz behind the TLS proxy."""
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    assert client.get(HEALTHZ).status_code == 200
    assert client.get(reverse("account_login")).status_code == 301


def test_it_returns_503_when_the_database_is_down():
    """A real unreachable PostgreSQL (closed port), in a separate process: no mock."""
    script = (
        "import django, json; django.setup()\n"
        "from django.test import Client\n"
        "r = Client().get('/healthz')\n"
        "print(r.status_code, json.dumps(r.json(), sort_keys=True))\n"
    )
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "DJANGO_SETTINGS_MODULE": "clspdr.settings",
        "DEBUG": "1",
        "ALLOWED_HOSTS": "testserver",
        "DATABASE_URL": "postgres://nobody@127.0.0.1:1/nothing",
    }
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    status, body = result.stdout.strip().splitlines()[-1].split(" ", 1)
    assert status == "503"
    assert '"database": "down"' in body and '"status": "down"' in body
    # Public view: states only, no host, port, user or error message.
    for secret in ("127.0.0.1", "nobody", "nothing", "refused"):
        assert secret not in body


# --- Issue 7: a database that never answers ------------------------------------------------------


def _in_thread(function: Callable[[], T], *, within: float) -> T:
    """Run `function` in a thread that must finish within `within` seconds (no timing assert:
    a hang fails the test, however fast the machine)."""
    outcome: list[T] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            outcome.append(function())
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()  # this thread's own connections, if it opened any

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout=within)
    assert not thread.is_alive(), f"still waiting after {within} s"
    if errors:
        raise errors[0]
    return outcome[0]


@pytest.fixture
def silent() -> Iterator[SilentServer]:
    with SilentServer() as server:
        yield server


@pytest.fixture
def hung_database(silent: SilentServer, monkeypatch) -> SilentServer:
    """The health probe connects to a PostgreSQL that never answers (the rest of the test
    keeps the real test database)."""
    monkeypatch.setattr(probes, "postgresql_params", lambda: silent.libpq_params)
    return silent


def test_it_gives_up_on_a_database_that_never_answers(hung_database):
    assert _in_thread(lambda: probes.database(1.0), within=10) == "down"
    assert hung_database.accepted.is_set(), "the probe did connect, and got no answer"


def test_it_answers_503_within_three_seconds_when_the_database_and_redis_hang(
    client, db, settings, hung_database
):
    """The Done-when of issue 7: /healthz answers 503 within 3 s. Redis hangs too, so the
    three probes must run side by side, each bounded (redis-py alone would retry 3 times)."""
    _use_redis(settings, hung_database.redis_url)
    response = _in_thread(lambda: client.get(HEALTHZ), within=3)
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "down"
    assert {k: body["checks"][k] for k in ("database", "cache", "broker")} == {
        "database": "down",
        "cache": "down",
        "broker": "down",
    }
    assert body["checks"]["worker"] == body["checks"]["beat"] == "unknown"


def _get(url: str, timeout: float = 10) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_it_answers_busy_at_once_and_keeps_the_login_page_up_while_a_probe_hangs(
    live_server, hung_database, monkeypatch
):
    """A probe stuck on the database holds one worker, never the others: a second health check
    answers 503 "busy" without waiting, and the login page and static files still answer."""
    # The probe waits as long as the test needs: the silent server decides when it ends.
    monkeypatch.setattr(health, "TIMEOUT_SECONDS", 60.0)
    first: dict[str, tuple[int, str]] = {}
    probing = threading.Thread(
        target=lambda: first.update(answer=_get(live_server.url + HEALTHZ, timeout=90)),
        daemon=True,
    )
    probing.start()
    assert hung_database.accepted.wait(timeout=30), "the first probe never reached the database"

    status, body = _get(live_server.url + HEALTHZ)
    assert (status, json.loads(body)) == (503, {"status": "busy"})
    login_status, login_page = _get(live_server.url + reverse("account_login"))
    assert login_status == 200 and 'name="password"' in login_page
    assert _get(live_server.url + static("css/clspdr.css"))[0] == 200

    hung_database.hang_up()  # the database "fails": the first probe ends now
    probing.join(timeout=30)
    assert not probing.is_alive()
    status, body = first["answer"]
    assert status == 503 and json.loads(body)["checks"]["database"] == "down"

    monkeypatch.setattr(health, "TIMEOUT_SECONDS", 1.0)
    status, body = _get(live_server.url + HEALTHZ)
    assert (status, json.loads(body)["status"]) == (503, "down"), "the lock is free again"


def test_it_logs_why_the_database_is_down_once_as_a_warning(client, db, hung_database, caplog):
    """The probe's warning says why; Django's generic "Service Unavailable" error line, which
    would be mailed to ADMINS every 30 s, is dropped (clspdr/logs.py)."""
    with caplog.at_level(logging.INFO):
        assert _in_thread(lambda: client.get(HEALTHZ), within=10).status_code == 503
    records = [(r.name, r.levelname) for r in caplog.records]
    assert ("clspdr.probes", "WARNING") in records
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], records


# --- Issue 7: heartbeats and static files -------------------------------------------------------


def test_it_reports_the_last_heartbeat_of_the_worker_and_beat(client, db, settings):
    _use_redis(settings, CLOSED_PORT_REDIS)
    worker_at = timezone.now() - timedelta(minutes=2)
    beat_at = timezone.now() - timedelta(seconds=30)
    heartbeat_record(process=Heartbeat.Process.WORKER, at=worker_at)
    heartbeat_record(process=Heartbeat.Process.BEAT, at=beat_at)
    body = client.get(HEALTHZ).json()
    assert (body["checks"]["worker"], body["checks"]["beat"]) == ("ok", "ok")
    assert body["heartbeats"] == {"worker": worker_at.isoformat(), "beat": beat_at.isoformat()}


@pytest.mark.parametrize("silent_process", ["worker", "beat"])
def test_it_is_degraded_when_a_heartbeat_is_stale(client, db, settings, silent_process):
    _use_redis(settings, CLOSED_PORT_REDIS)
    _fresh_heartbeats()
    heartbeat_record(
        process=Heartbeat.Process(silent_process), at=timezone.now() - timedelta(minutes=11)
    )
    response = client.get(HEALTHZ)
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    assert body["checks"][silent_process] == "stale"


def test_it_is_degraded_when_no_worker_ever_ran(client, db, settings, live_redis_url):
    _use_redis(settings, live_redis_url)
    response = client.get(HEALTHZ)
    body = response.json()
    assert (response.status_code, body["status"]) == (200, "degraded")
    assert body["checks"]["worker"] == body["checks"]["beat"] == "stale"
    assert body["heartbeats"] == {"worker": None, "beat": None}


def _manifest_storage(settings, static_root: Path) -> None:
    _embedded(settings)
    settings.STATIC_ROOT = static_root
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }


def test_it_is_degraded_when_the_static_files_were_not_collected(client, db, settings, tmp_path):
    _manifest_storage(settings, tmp_path)  # production storage, empty STATIC_ROOT
    response = client.get(HEALTHZ)
    assert response.status_code == 200
    assert response.json()["status"] == "degraded"
    assert response.json()["checks"]["static"] == "missing"


def test_it_reports_collected_static_files(client, db, settings, tmp_path):
    manifest = {"version": "1.1", "paths": {"css/clspdr.css": "css/clspdr.0123.css"}, "hash": "x"}
    (tmp_path / "staticfiles.json").write_text(json.dumps(manifest))
    _manifest_storage(settings, tmp_path)
    body = client.get(HEALTHZ).json()
    assert (body["status"], body["checks"]["static"]) == ("ok", "ok")
