"""The web tier without Redis (issue 3; docs/security.md, T-44 and T-51).

Decision: sessions and the login throttling counters live in the database (default cache),
and no web request publishes to the broker, so logging in, reading and updating the plan do
not depend on Redis; /healthz reports the outage as "degraded". This test starts its own
redis-server, points the settings at it, stops it, and checks all of that, then restarts it.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
from django.urls import reverse

from actions.models import StatusUpdate
from clspdr.heartbeats import heartbeat_record
from clspdr.models import Heartbeat
from tests.factories import PASSWORD

REDIS_SERVER = shutil.which("redis-server")
pytestmark = pytest.mark.skipif(
    REDIS_SERVER is None, reason="redis-server is not installed (bin/system-deps installs it)"
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class OwnRedis:
    port: int
    workdir: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        assert REDIS_SERVER is not None
        self.process = subprocess.Popen(
            [
                REDIS_SERVER,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis.from_url(self.url, socket_connect_timeout=0.2)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                return
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


@pytest.fixture
def own_redis(tmp_path: Path, settings) -> Iterator[OwnRedis]:
    server = OwnRedis(port=_free_port(), workdir=tmp_path)
    server.start()
    # What settings.py derives from REDIS_URL.
    settings.REDIS_URL = server.url
    settings.CELERY_BROKER_URL = server.url
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CACHES = {
        **settings.CACHES,
        "redis": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": server.url},
    }
    yield server
    server.stop()


def _health(client) -> dict:
    response = client.get(reverse("healthz"))
    assert response.status_code == 200
    return response.json()


def test_it_keeps_the_plan_usable_while_redis_is_down(own_redis, world, personas, client):
    for process in Heartbeat.Process:  # a worker and beat alive until Redis goes
        heartbeat_record(process=process)
    assert _health(client)["status"] == "ok"

    own_redis.stop()

    response = client.post(reverse("account_login"), {"login": "bailleur", "password": PASSWORD})
    assert response.status_code == 302, "logging in must not need Redis"
    assert client.get(reverse("axes:dashboard")).status_code == 200
    assert client.get(reverse("actions:list")).status_code == 200
    action = world.actions["ville_led"]
    assert client.get(reverse("actions:detail", args=[action.pk])).status_code == 200
    response = client.post(
        reverse("actions:update_status", args=[action.pk]),
        {"status": "in_progress", "progress": "40", "comment": "Sans Redis", "version": "1"},
    )
    assert response.status_code == 302
    assert StatusUpdate.objects.filter(action=action, comment="Sans Redis").count() == 1

    health = _health(client)
    assert health["status"] == "degraded"
    assert health["checks"]["cache"] == "down"
    assert health["checks"]["broker"] == "down"
    assert health["checks"]["database"] == "ok"

    own_redis.start()
    assert _health(client)["status"] == "ok"


def test_it_still_throttles_failed_logins_while_redis_is_down(own_redis, personas, client):
    own_redis.stop()
    pages = [
        client.post(
            reverse("account_login"), {"login": "police", "password": "wrong-password-1"}
        ).content.decode()
        for _ in range(7)
    ]
    assert "Trop de tentatives" not in pages[0]
    assert "Trop de tentatives" in pages[-1], "throttling must not fail open without Redis"
