"""`/healthz` (T-51): the database decides up/down, Redis and the broker only degrade."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import redis
from django.urls import reverse

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


def test_it_reports_ok_without_redis_configured(client, db, settings):
    _use_redis(settings, "")
    settings.CELERY_BROKER_URL = "memory://"
    settings.CELERY_TASK_ALWAYS_EAGER = True
    response = client.get(HEALTHZ)
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "checks": {"database": "ok", "cache": "not_configured", "broker": "not_configured"},
    }


def test_it_reports_ok_with_redis_up(client, db, settings, live_redis_url):
    _use_redis(settings, live_redis_url)
    response = client.get(HEALTHZ)
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "checks": {"database": "ok", "cache": "ok", "broker": "ok"},
    }


def test_it_stays_up_but_degraded_when_redis_is_down(client, db, settings):
    _use_redis(settings, CLOSED_PORT_REDIS)
    response = client.get(HEALTHZ)
    assert response.status_code == 200
    assert response.json() == {
        "status": "degraded",
        "checks": {"database": "ok", "cache": "down", "broker": "down"},
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
