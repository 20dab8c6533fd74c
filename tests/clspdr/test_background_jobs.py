"""Background jobs that survive their own failures (issue 7 points 2, 3 and 5): the settings that
bound them, the scheduled session purge, and web requests that never wait for the broker."""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterator

import pytest
from celery.signals import before_task_publish, task_prerun
from django.conf import settings
from django.contrib.sessions.models import Session
from django.urls import reverse
from django.utils import timezone

from actions.models import StatusUpdate
from actions.reminders import LOCK
from actions.tasks import SEND_TIME_LIMIT
from clspdr.celery import app as celery_app
from clspdr.tasks import clear_expired_sessions_task
from tests.clspdr.test_deploy import PRODUCTION_ENV, _run
from tests.factories import PASSWORD


@pytest.fixture(scope="module")
def registered_tasks() -> dict:
    celery_app.loader.import_default_modules()  # what a worker does at start: autodiscovery
    return {name: task for name, task in celery_app.tasks.items() if not name.startswith("celery.")}


# --- Point 3: scheduled work -------------------------------------------------------------------


@pytest.mark.django_db
def test_it_purges_expired_sessions_and_keeps_live_ones():
    now = timezone.now()
    for key, expire_date in [
        ("expired-long-ago", now - datetime.timedelta(days=30)),
        ("expired-just-now", now - datetime.timedelta(seconds=1)),
        ("still-live", now + datetime.timedelta(minutes=20)),
    ]:
        Session.objects.create(session_key=key, session_data="", expire_date=expire_date)

    clear_expired_sessions_task()

    assert list(Session.objects.values_list("session_key", flat=True)) == ["still-live"]


def test_it_schedules_the_session_purge_every_day():
    entry = settings.CELERY_BEAT_SCHEDULE["clear-expired-sessions"]
    assert entry["task"] == "clspdr.tasks.clear_expired_sessions_task"
    assert entry["schedule"].day_of_week == set(range(7))
    assert entry["schedule"].hour, "at least once a day"


def test_it_gives_a_lost_task_back_within_minutes_but_never_while_it_runs(registered_tasks):
    """Redis re-delivers an unacknowledged message after the visibility timeout: short, so a
    killed worker's task comes back soon; longer than any task's run, or a running task would
    be delivered a second time."""
    conf = celery_app.conf
    visibility = conf.broker_transport_options["visibility_timeout"]
    longest = max(task.time_limit or conf.task_time_limit for task in registered_tasks.values())

    assert visibility <= 10 * 60
    assert longest < visibility
    assert conf.task_soft_time_limit < conf.task_time_limit
    assert conf.task_acks_late and conf.task_reject_on_worker_lost
    # kombu would look for lost messages only every 100 s by default
    sweep = conf.broker_transport_options["unacked_restore_interval"]
    assert sweep * conf.broker_transport_options["unacked_restore_throttle"] <= 10
    # A reminder's lock outlives the task that holds it (actions/reminders.py).
    assert LOCK.total_seconds() > SEND_TIME_LIMIT


def test_it_takes_the_visibility_timeout_from_the_environment():
    script = (
        "import json, django; django.setup()\n"
        "from clspdr.celery import app\n"
        "print(json.dumps(app.conf.broker_transport_options))\n"
    )
    result = _run(["-c", script], **PRODUCTION_ENV, CELERY_VISIBILITY_TIMEOUT="900")
    assert result.returncode == 0, result.stderr
    options = json.loads(result.stdout.strip().splitlines()[-1])
    assert options["visibility_timeout"] == 900


# --- Point 5: the worker outlives a long Redis outage -------------------------------------------


def test_it_retries_the_broker_forever():
    """Celery's default gives up after 100 attempts (about 50 minutes) and the worker exits;
    tests/test_worker_reconnects.py shows a real worker coming back after an outage."""
    conf = celery_app.conf
    assert conf.broker_connection_retry is True
    assert conf.broker_connection_retry_on_startup is True
    assert conf.broker_connection_max_retries is None


# --- Point 2: the mail server -------------------------------------------------------------------


def _email_settings(**env: str) -> dict:
    script = (
        "import json, django; django.setup()\n"
        "from django.conf import settings as s\n"
        "from django.core.mail import get_connection\n"
        "c = get_connection('django.core.mail.backends.smtp.EmailBackend')\n"
        "print(json.dumps({'timeout': c.timeout, 'ssl': c.use_ssl, 'tls': c.use_tls}))\n"
    )
    result = _run(["-c", script], **PRODUCTION_ENV, **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_it_bounds_every_wait_for_the_mail_server_by_default():
    assert _email_settings()["timeout"] == 10
    assert _email_settings(EMAIL_TIMEOUT="3")["timeout"] == 3


def test_it_speaks_implicit_tls_to_the_mail_server_when_asked():
    assert _email_settings(EMAIL_USE_SSL="1", EMAIL_PORT="465") == {
        "timeout": 10,
        "ssl": True,
        "tls": False,
    }


def test_it_refuses_to_start_with_both_starttls_and_implicit_tls():
    result = _run(["manage.py", "check"], **PRODUCTION_ENV, EMAIL_USE_TLS="1", EMAIL_USE_SSL="1")
    assert result.returncode != 0
    assert "EMAIL_USE_TLS" in result.stderr
    assert "exclude each other" in result.stderr


# --- Web requests never wait for the broker -----------------------------------------------------


@pytest.fixture
def tasks_touched() -> Iterator[list[str]]:
    """Names of the tasks published to the broker, or run in-process (eager), meanwhile."""
    touched: list[str] = []

    def published(sender=None, **kwargs):
        touched.append(str(sender))

    def started(sender=None, **kwargs):
        touched.append(sender.name)

    before_task_publish.connect(published, weak=False)
    task_prerun.connect(started, weak=False)
    yield touched
    before_task_publish.disconnect(published)
    task_prerun.disconnect(started)


def test_it_serves_logins_reads_and_updates_without_touching_the_broker(
    world, personas, client, tasks_touched
):
    """A request that enqueued a task would wait for Redis when Redis is down (or run the task
    itself in eager mode): none does. Background work starts from beat, whose checks catch up."""
    response = client.post(reverse("account_login"), {"login": "bailleur", "password": PASSWORD})
    assert response.status_code == 302
    action = world.actions["ville_led"]
    for url in (
        reverse("home"),
        reverse("axes:dashboard"),
        reverse("actions:list"),
        reverse("actions:detail", args=[action.pk]),
    ):
        assert client.get(url).status_code == 200, url
    response = client.post(
        reverse("actions:update_status", args=[action.pk]),
        {"status": "in_progress", "progress": "40", "comment": "Sans courtier", "version": "1"},
    )
    assert response.status_code == 302
    assert StatusUpdate.objects.filter(action=action, comment="Sans courtier").exists()
    client.post(reverse("account_logout"))
    client.post(reverse("account_reset_password"), {"email": "bailleur@example.org"})

    assert tasks_touched == []
