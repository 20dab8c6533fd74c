"""Heartbeats of the Celery worker and beat (issue 7 point 5), read by /healthz."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO
from typing import TYPE_CHECKING, Any

import pytest
from celery.signals import after_task_publish
from django.conf import settings
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from clspdr.heartbeats import HEARTBEAT_TASK, heartbeat_record
from clspdr.models import Heartbeat
from clspdr.tasks import heartbeat_task
from tests.production_env import production_env, run_python

if TYPE_CHECKING:
    from tests.worker import CeleryWorker

pytest_plugins = ["tests.worker"]


def _published(task_name: str) -> None:
    """What Celery sends in the publishing process (beat) once the broker has the message."""
    after_task_publish.send(sender=task_name, body=((), {}, {}), exchange="", routing_key="celery")


def _stamped() -> set[str]:
    return set(Heartbeat.objects.values_list("process", flat=True))


def test_it_schedules_the_heartbeat_every_minute():
    entry: dict[str, Any] = settings.CELERY_BEAT_SCHEDULE["heartbeat"]
    assert entry["task"] == heartbeat_task.name == HEARTBEAT_TASK
    assert entry["schedule"] == 60.0
    assert entry["options"]["expires"] < 60, "a backlog of heartbeats is skipped, not run"


def test_it_stamps_the_worker_when_a_worker_runs_the_heartbeat(db):
    heartbeat_task.apply()
    assert _stamped() == {"worker"}


def test_it_stamps_beat_when_the_heartbeat_is_sent(db):
    _published("actions.tasks.remind_stale_actions_task")
    assert _stamped() == set(), "only the heartbeat counts"
    _published(HEARTBEAT_TASK)
    assert _stamped() == {"beat"}


def test_it_keeps_beat_sending_when_the_database_is_down():
    """The stamp is a side effect of publishing: a refused database must not break beat."""
    script = (
        "import django; django.setup()\n"
        "from celery.signals import after_task_publish\n"
        "from clspdr.heartbeats import HEARTBEAT_TASK\n"
        "after_task_publish.send(sender=HEARTBEAT_TASK, body=((), {}, {}), exchange='',"
        " routing_key='celery')\n"
        "print('still sending')\n"
    )
    result = run_python(["-c", script], production_env(DEBUG="1"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "still sending"
    assert "beat heartbeat not recorded" in result.stderr


@pytest.mark.worker
def test_it_reports_a_real_worker_and_the_sender_as_alive(real_celery_worker: CeleryWorker, client):
    sent = heartbeat_task.apply_async(queue=real_celery_worker.queue)
    outcome = real_celery_worker.wait_for_task(sent.id)
    assert "succeeded" in outcome, outcome
    assert _stamped() == {"worker", "beat"}
    body = client.get(reverse("healthz")).json()
    assert (body["checks"]["worker"], body["checks"]["beat"]) == ("ok", "ok")


def test_it_tells_a_container_health_check_whether_beat_is_alive(db):
    with pytest.raises(CommandError, match="beat : dernier signe de vie jamais"):
        call_command("check_heartbeat", "beat")
    heartbeat_record(process=Heartbeat.Process.BEAT, at=timezone.now() - timedelta(minutes=11))
    with pytest.raises(CommandError, match="trop ancien"):
        call_command("check_heartbeat", "beat")
    heartbeat_record(process=Heartbeat.Process.BEAT)
    out = StringIO()
    call_command("check_heartbeat", "beat", stdout=out)
    assert out.getvalue().startswith("beat : vivant")
