"""The weekly reminder through Redis and a real worker process, as beat triggers it in production:
the weekly check is serialized to JSON, routed, run in another process against the committed
database, enqueues one send task per organisation, which sends one e-mail; sent again, the
check sends nothing."""

from __future__ import annotations

from email import policy
from email.parser import BytesParser
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from django.conf import settings
from django.utils import timezone

from actions.models import ReminderSent, ReminderStatus
from actions.reminders import week_start
from actions.tasks import remind_stale_actions_task
from clspdr.models import Role
from tests.factories import (
    ActionFactory,
    AxisFactory,
    OrganisationFactory,
    StrategyFactory,
    UserFactory,
)
from tests.smtp import SMTPServer

if TYPE_CHECKING:
    from tests.worker import CeleryWorker, StartWorker

pytest_plugins = ["tests.worker"]
pytestmark = pytest.mark.worker


def _read_mail(path: Path):
    # The file backend writes the message then a line of dashes: harmless in the body.
    return BytesParser(policy=policy.default).parsebytes(path.read_bytes())


def test_it_sends_the_weekly_reminder_through_a_real_worker_once(
    real_celery_worker: CeleryWorker, transactional_db
):
    # Committed rows (transactional_db): the worker reads them through its own connection.
    strategy = StrategyFactory()
    axis = AxisFactory(strategy=strategy, number=2)
    police = OrganisationFactory(name="Police municipale")
    ActionFactory(axis=axis, number="1", lead_organisation=police)
    ActionFactory(axis=axis, number="2", lead_organisation=police)
    UserFactory(username="pm", role=Role.PARTNER, organisation=police, email="pm@example.org")
    # One fixed day for both runs, so that midnight on Sunday cannot start a new week between them.
    today = timezone.localdate()
    week = week_start(today)

    first = remind_stale_actions_task.apply_async(
        args=[today.isoformat()], queue=real_celery_worker.queue
    )

    # The outcome first: a task that raised fails the test now, with its traceback in the log.
    outcome = real_celery_worker.wait_for_task(first.id)
    assert "succeeded" in outcome, outcome
    assert "'queued': 1" in outcome
    row = real_celery_worker.wait_for(
        lambda: ReminderSent.objects.filter(
            organisation_id=police.pk, week_start=week, status=ReminderStatus.SENT
        ).first(),
        timeout=30,
        what="reminder marked sent",
    )
    assert (row.action_count, row.attempts) == (2, 1)
    # The e-mail is sent before the row is marked: once it is "sent", the file is there.
    [mail_file] = real_celery_worker.mails()
    message = _read_mail(mail_file)
    # (.strip(): Django folds the encoded subject onto a continuation line)
    assert message["Subject"].strip() == f"[{settings.SITE_NAME}] 2 actions à mettre à jour"
    assert message["To"] == "pm@example.org"

    second = remind_stale_actions_task.apply_async(
        args=[today.isoformat()], queue=real_celery_worker.queue
    )

    outcome = real_celery_worker.wait_for_task(second.id)
    assert "succeeded" in outcome, outcome
    assert "'sent': 1" in outcome
    assert "'queued': 0" in outcome
    assert real_celery_worker.mails() == [mail_file]
    assert list(ReminderSent.objects.values_list("pk", "sent_at")) == [(row.pk, row.sent_at)]


def _smtp_env(server: SMTPServer, **more: str) -> dict[str, str]:
    """The worker's mail goes to `server` through Django's real SMTP backend."""
    return {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(server.port),
        "EMAIL_USE_TLS": "0",
        "EMAIL_USE_SSL": "0",
        **more,
    }


def _police_with_a_stale_action():
    police = OrganisationFactory(name="Police municipale")
    ActionFactory(axis=AxisFactory(number=1), number="1", lead_organisation=police)
    UserFactory(username="pm", role=Role.PARTNER, organisation=police, email="pm@example.org")
    return police


def test_it_retries_a_reminder_after_a_hung_mail_server_and_sends_it_once(
    start_celery_worker: StartWorker,
):
    """Point 2 of issue 7: the mail server hangs on the first attempt; EMAIL_TIMEOUT ends it,
    the task retries itself (Celery countdown, same task id) and the next attempt delivers."""
    _police_with_a_stale_action()
    today = timezone.localdate()
    with SMTPServer(hang=1) as smtp:  # the first connection hangs, the next ones answer
        worker = start_celery_worker(env=_smtp_env(smtp, EMAIL_TIMEOUT="1", EMAIL_RETRY_DELAY="1"))

        check = remind_stale_actions_task.apply_async(args=[today.isoformat()], queue=worker.queue)

        assert "'queued': 1" in worker.wait_for_task(check.id)
        row = worker.wait_for(
            lambda: ReminderSent.objects.filter(status=ReminderStatus.SENT).first(),
            timeout=60,
            what="reminder marked sent",
        )
    assert row.attempts == 2
    assert [mail.recipients for mail in smtp.messages] == [["pm@example.org"]]
    assert f"send_stale_reminder_task[{row.task_id}] retry: Retry in 1s" in worker.log()


def test_it_runs_a_killed_workers_task_again_within_the_visibility_timeout_and_sends_once(
    start_celery_worker: StartWorker,
):
    """Point 3 of issue 7: a worker dies (SIGKILL) in the middle of a send. Its message was
    never acknowledged: after the visibility timeout (short here, CELERY_VISIBILITY_TIMEOUT)
    Redis gives the same task to another worker, which sends the reminder once."""
    _police_with_a_stale_action()
    today = timezone.localdate()
    with SMTPServer(hang=1) as smtp:
        doomed = start_celery_worker(env=_smtp_env(smtp, EMAIL_TIMEOUT="60"))
        remind_stale_actions_task.apply_async(args=[today.isoformat()], queue=doomed.queue)
        assert smtp.hung.wait(60), "the send task never reached the mail server"
        row = ReminderSent.objects.get()
        assert (row.status, row.attempts) == (ReminderStatus.SENDING, 1)

        doomed.kill()
        # Restarted at once, as a supervisor does: usually the message is not overdue yet when
        # the new worker is ready, and its periodic sweep (unacked_restore_interval) finds it.
        rescuer = start_celery_worker(
            queue=doomed.queue,
            env=_smtp_env(smtp, EMAIL_TIMEOUT="5", CELERY_VISIBILITY_TIMEOUT="15"),
        )

        row = rescuer.wait_for(
            lambda: ReminderSent.objects.filter(status=ReminderStatus.SENT).first(),
            timeout=60,
            what="reminder marked sent by the second worker",
        )
    assert row.attempts == 2
    assert f"send_stale_reminder_task[{row.task_id}] received" in rescuer.log()  # the same task
    assert "may receive it twice" in rescuer.log()
    assert [mail.recipients for mail in smtp.messages] == [["pm@example.org"]]
