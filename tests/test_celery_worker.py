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

if TYPE_CHECKING:
    from tests.worker import CeleryWorker

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
