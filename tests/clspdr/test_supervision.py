"""The worker's and beat's health checks of docker-compose.yml, run against real processes on
Redis, and the documented way to re-run a missed job (docs/deployment.md).

Each process gets a node name of its own (what `$HOSTNAME` is in its container), so runs on a
shared Redis never answer for each other. Skipped without REDIS_URL.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote, urlsplit, urlunsplit

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from actions.models import ReminderSent
from actions.reminders import week_start
from clspdr.models import Role
from tests import deployment
from tests.factories import (
    ActionFactory,
    AxisFactory,
    OrganisationFactory,
    StrategyFactory,
    UserFactory,
)

if TYPE_CHECKING:
    from tests.worker import CeleryWorker

pytest_plugins = ["tests.worker"]

ROOT = deployment.ROOT
CELERY = str(Path(sys.executable).with_name("celery"))
HEALTHY_WITHIN = 120.0  # seconds; compose allows start_period + retries x interval, far more

needs_redis = pytest.mark.skipif(
    not os.environ.get("REDIS_URL"), reason="the health checks talk to Redis: set REDIS_URL"
)


def _environment(**extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "DEBUG": "1",
        "PYTHONUNBUFFERED": "1",
        "DJANGO_SETTINGS_MODULE": "clspdr.settings",
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        **extra,
    }


def _health_check(service: str, *, hostname: str) -> subprocess.CompletedProcess[str]:
    """The service's compose health check, as Docker runs it: `sh -c` in the container, whose
    HOSTNAME is the node's host (compose's `$$` is a literal `$`)."""
    kind, command = deployment.compose()["services"][service]["healthcheck"]["test"]
    assert kind == "CMD-SHELL"
    return subprocess.run(
        ["sh", "-c", command.replace("$$", "$")],
        cwd=ROOT,
        env=_environment(HOSTNAME=hostname),
        capture_output=True,
        text=True,
        timeout=90,
    )


def _healthy_within(service: str, *, hostname: str, process: subprocess.Popen[bytes]) -> str:
    """Run the check until it passes, as Docker retries it; its output once it does."""
    deadline = time.monotonic() + HEALTHY_WITHIN
    while True:
        result = _health_check(service, hostname=hostname)
        if result.returncode == 0:
            return result.stdout
        assert process.poll() is None, f"{service} exited ({process.returncode})"
        assert time.monotonic() < deadline, result.stdout + result.stderr
        time.sleep(1)


# docs/deployment.md, section 6: the by-hand check for systemd (through clspdr-manage).
PING_BY_HAND = "from clspdr.celery import app; print(app.control.ping(timeout=5))"


def _answers_by_hand(node: str, *, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + HEALTHY_WITHIN
    while True:
        result = subprocess.run(
            [sys.executable, "manage.py", "shell", "-c", PING_BY_HAND],
            cwd=ROOT,
            env=_environment(),
            capture_output=True,
            text=True,
            timeout=90,
        )
        if f"'{node}': {{'ok': 'pong'}}" in result.stdout:
            return
        assert process.poll() is None, f"{node} exited ({process.returncode})"
        assert time.monotonic() < deadline, result.stdout + result.stderr
        time.sleep(1)


@contextmanager
def _started(command: list[str], log_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command, cwd=ROOT, env=_environment(), stdout=log, stderr=subprocess.STDOUT
        )
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        print(f"----- {' '.join(command)} -----\n{log_path.read_text(errors='replace')}")


@needs_redis
def test_it_reports_a_running_worker_healthy_and_another_host_unhealthy(tmp_path):
    host = f"pytest-{uuid.uuid4().hex[:12]}"
    compose_command = deployment.compose()["services"]["worker"]["command"]
    command = [
        CELERY,
        *compose_command[1:],
        f"--hostname=celery@{host}",  # what celery@%h is in the container
        f"--queues=pytest-{host}",  # takes nobody else's tasks on a shared Redis
    ]
    with _started(command, tmp_path / "worker.log") as worker:
        output = _healthy_within("worker", hostname=host, process=worker)
        assert f"celery@{host}: OK" in output
        _answers_by_hand(f"celery@{host}", process=worker)
        other = _health_check("worker", hostname=f"{host}-gone")
    assert other.returncode != 0


@needs_redis
def test_it_reports_a_running_beat_healthy_and_a_stopped_one_unhealthy(tmp_path):
    host = f"pytest-{uuid.uuid4().hex[:12]}"
    compose_command = deployment.compose()["services"]["beat"]["command"]
    schedule = compose_command.index("-s") + 1
    arguments = [
        *compose_command[1:schedule],
        str(tmp_path / "schedule"),
        *compose_command[schedule + 1 :],
    ]
    command = [CELERY, *arguments, f"--hostname=celerybeat@{host}"]
    with _started(command, tmp_path / "beat.log") as beat:
        output = _healthy_within("beat", hostname=host, process=beat)
        assert f"celerybeat@{host}: OK" in output
        _answers_by_hand(f"celerybeat@{host}", process=beat)
    assert _health_check("beat", hostname=host).returncode != 0


@pytest.mark.worker
def test_it_reruns_a_missed_reminder_with_the_documented_celery_call(
    real_celery_worker: CeleryWorker, transactional_db
):
    """docs/deployment.md: `celery -A clspdr call actions.tasks.remind_stale_actions_task
    --args '["<day>"]'` sends the week of <day> that was missed (the queue option only
    keeps this test on its own worker)."""
    police = OrganisationFactory(name="Police municipale")
    ActionFactory(axis=AxisFactory(strategy=StrategyFactory()), lead_organisation=police)
    UserFactory(role=Role.PARTNER, organisation=police, email="pm@example.org")
    today = timezone.localdate()

    call = subprocess.run(
        [
            CELERY, "-A", "clspdr", "call", "actions.tasks.remind_stale_actions_task",
            "--args", f'["{today.isoformat()}"]', "--queue", real_celery_worker.queue,
        ],
        cwd=ROOT, env=_environment(REDIS_URL=settings.REDIS_URL), capture_output=True,
        text=True, timeout=120,
    )  # fmt: skip

    assert call.returncode == 0, call.stderr
    task_id = call.stdout.strip().splitlines()[-1]
    outcome = real_celery_worker.wait_for_task(task_id)
    assert "succeeded" in outcome, outcome
    reminded = ReminderSent.objects.filter(organisation_id=police.pk, week_start=week_start(today))
    assert reminded.exists()


def _test_database_url() -> str:
    parts = urlsplit(os.environ["DATABASE_URL"])
    return urlunsplit(parts._replace(path="/" + quote(str(connection.settings_dict["NAME"]))))


DOCUMENTED_SHELL_RERUN = (
    "from actions.tasks import remind_stale_actions_task as t; print(t())"  # section 7
)


def test_it_reruns_a_missed_reminder_with_the_documented_shell_command(transactional_db, tmp_path):
    """Without a worker: `manage.py shell -c "…"` runs the task in the command's process."""
    if connection.vendor != "postgresql":
        pytest.skip("another process must see the test database: PostgreSQL only")
    docs = (ROOT / "docs" / "deployment.md").read_text(encoding="utf-8")
    assert f'manage.py shell -c "{DOCUMENTED_SHELL_RERUN}"' in docs
    police = OrganisationFactory(name="Police municipale")
    ActionFactory(axis=AxisFactory(strategy=StrategyFactory()), lead_organisation=police)
    UserFactory(role=Role.PARTNER, organisation=police, email="pm@example.org")

    rerun = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", DOCUMENTED_SHELL_RERUN],
        cwd=ROOT,
        env=_environment(
            DATABASE_URL=_test_database_url(),
            CONN_MAX_AGE="0",
            REDIS_URL="",
            EMAIL_BACKEND="django.core.mail.backends.filebased.EmailBackend",
            EMAIL_FILE_PATH=str(tmp_path),
        ),
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert rerun.returncode == 0, rerun.stderr
    assert "'queued': 1" in rerun.stdout  # one organisation's reminder, sent in-process
    week = week_start(timezone.localdate())
    assert ReminderSent.objects.filter(organisation_id=police.pk, week_start=week).exists()
    assert len(list(tmp_path.iterdir())) == 1
