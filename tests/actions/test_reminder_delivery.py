"""Delivering the weekly reminder through a real SMTP server that hangs, fails or answers (issue 7
point 2): no transaction is held while the server is waited for, the wait is bounded by
EMAIL_TIMEOUT, failed sends are retried with a growing delay, and each organisation gets its
week's e-mail once."""

from __future__ import annotations

import datetime
import threading
from smtplib import SMTPException

import pytest
import time_machine
from django.core.mail.backends.locmem import EmailBackend as LocmemBackend
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from actions.models import Action, ReminderSent, ReminderStatus
from actions.reminders import LOCK, MAX_ATTEMPTS, reminders_claim_due
from actions.tasks import remind_stale_actions_task, send_stale_reminder_task
from axes.models import Axis
from clspdr.models import Role
from governance.models import Organisation
from tests.factories import ActionFactory, AxisFactory, OrganisationFactory, UserFactory
from tests.smtp import SMTPServer

pytestmark = pytest.mark.usefixtures("celery_eager")

TODAY = datetime.date(2026, 3, 18)  # a Wednesday; its ISO week starts on Monday 16 March


def _carrier(name: str, contact: str) -> Organisation:
    """An organisation leading one never-updated action, with one partner contact."""
    organisation = OrganisationFactory.create(name=name)
    UserFactory(
        username=contact,
        role=Role.PARTNER,
        organisation=organisation,
        email=f"{contact}@example.org",
    )
    axis = Axis.objects.first() or AxisFactory(number=1)
    ActionFactory(axis=axis, number=str(organisation.pk), lead_organisation=organisation)
    return organisation


def _use_smtp(settings, server: SMTPServer) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = server.port
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 1


def _send(reminder_id: int, task_id: str) -> dict:
    """The send task as Celery runs it, with `task_id` (a retry keeps its task's id)."""
    args = (reminder_id, TODAY.isoformat())
    return send_stale_reminder_task.apply(args=args, task_id=task_id).get()


def _lock_without_waiting(pk: int) -> ReminderSent:
    """The row, locked and written from this connection: fails at once (PostgreSQL) if another
    transaction holds it; on SQLite the write fails after the busy timeout if one is open."""
    with transaction.atomic():
        row = ReminderSent.objects.select_for_update(nowait=True).get(pk=pk)
        ReminderSent.objects.filter(pk=pk).update(action_count=F("action_count"))
        return row


@pytest.mark.django_db(transaction=True)
def test_it_waits_for_a_hung_mail_server_without_holding_a_transaction(settings):
    _carrier("Police municipale", "pm")
    result: dict[str, dict] = {}
    with SMTPServer(hang=None) as hung:
        _use_smtp(settings, hung)
        _, [claim] = reminders_claim_due(today=TODAY)

        def send() -> None:
            try:
                result["send"] = _send(claim.reminder_id, claim.task_id)
            finally:
                connection.close()

        sender = threading.Thread(target=send)
        sender.start()
        try:
            assert hung.hung.wait(30), "the task never reached the mail server"
            # While the task waits for the server: its claim is committed, nothing is locked.
            row = _lock_without_waiting(claim.reminder_id)
            assert (row.status, row.attempts) == (ReminderStatus.SENDING, 1)
        finally:
            sender.join(60)
        assert not sender.is_alive(), "EMAIL_TIMEOUT did not end the wait"

    assert result["send"] == {"outcome": "retry", "recipients": 0}
    row = ReminderSent.objects.get()
    assert (row.status, row.attempts, row.sent_at) == (ReminderStatus.PENDING, 1, None)
    assert "timed out" in row.last_error
    assert row.locked_until is not None
    assert row.locked_until > timezone.now() + datetime.timedelta(seconds=60)  # the retry delay


@pytest.mark.django_db
def test_it_retries_after_a_hung_mail_server_and_sends_once_per_organisation(settings):
    police = _carrier("Police municipale", "pm")
    landlord = _carrier("Bailleur social", "bailleur")
    with SMTPServer(hang=None) as hung:
        _use_smtp(settings, hung)
        first = remind_stale_actions_task(TODAY.isoformat())
    assert first["queued"] == 2
    rows = ReminderSent.objects.order_by("pk")
    assert [(r.status, r.attempts) for r in rows] == [(ReminderStatus.PENDING, 1)] * 2
    first_tasks = [row.task_id for row in rows]

    with SMTPServer() as server:
        _use_smtp(settings, server)
        # Later, once the retry delays have passed: the weekly check runs again, and the
        # Celery retries of the first tasks arrive late, after it.
        with time_machine.travel(timezone.now() + datetime.timedelta(minutes=10)):
            retry = remind_stale_actions_task(TODAY.isoformat())
            again = remind_stale_actions_task(TODAY.isoformat())
            late = [_send(row.pk, task_id) for row, task_id in zip(rows, first_tasks, strict=True)]

    assert retry["queued"] == 2
    assert (again["queued"], again["sent"]) == (0, 2)
    assert late == [{"outcome": "not_mine", "recipients": 0}] * 2
    assert sorted(mail.recipients for mail in server.messages) == [
        ["bailleur@example.org"],
        ["pm@example.org"],
    ]
    subjects = {mail.message()["Subject"].strip() for mail in server.messages}
    assert subjects == {"[CLSPDR de Manosque] 1 action à mettre à jour"}
    rows = ReminderSent.objects.order_by("organisation__name")
    assert [(r.organisation_id, r.status, r.attempts) for r in rows] == [
        (landlord.pk, ReminderStatus.SENT, 2),
        (police.pk, ReminderStatus.SENT, 2),
    ]


@pytest.mark.django_db
def test_it_lets_only_the_retry_of_the_failed_task_take_the_reminder_before_its_delay(settings):
    _carrier("Police municipale", "pm")
    with SMTPServer(hang=1) as server:  # the first connection hangs, the next ones answer
        _use_smtp(settings, server)
        _, [claim] = reminders_claim_due(today=TODAY)
        assert _send(claim.reminder_id, claim.task_id)["outcome"] == "retry"

        other = _send(claim.reminder_id, "another-task")
        retry = _send(claim.reminder_id, claim.task_id)  # what Celery's retry delivers
        after = _send(claim.reminder_id, claim.task_id)  # delivered once more

    assert (other["outcome"], retry["outcome"], after["outcome"]) == (
        "not_mine",
        "sent",
        "not_mine",
    )
    assert [mail.recipients for mail in server.messages] == [["pm@example.org"]]


class RefusingBackend(LocmemBackend):
    def send_messages(self, messages):
        raise SMTPException("421 service not available")


@pytest.mark.django_db
def test_it_doubles_the_delay_between_attempts_and_gives_up_after_the_last(
    settings, mailoutbox, caplog
):
    settings.EMAIL_BACKEND = f"{__name__}.RefusingBackend"
    settings.EMAIL_RETRY_DELAY = 60
    _carrier("Police municipale", "pm")
    _, [claim] = reminders_claim_due(today=TODAY)

    waits = []
    for _ in range(MAX_ATTEMPTS - 1):
        before = timezone.now()
        assert _send(claim.reminder_id, claim.task_id)["outcome"] == "retry"
        locked_until = ReminderSent.objects.get().locked_until
        assert locked_until is not None
        waits.append(round((locked_until - before - LOCK).total_seconds() / 60))
    last = _send(claim.reminder_id, claim.task_id)

    assert waits == [1, 2, 4, 8, 16, 32, 64, 128, 256]  # minutes
    assert last["outcome"] == "failed"
    row = ReminderSent.objects.get()
    assert (row.status, row.attempts, row.locked_until) == (
        ReminderStatus.FAILED,
        MAX_ATTEMPTS,
        None,
    )
    assert "421 service not available" in row.last_error
    assert "given up after 10 attempts" in caplog.text
    assert mailoutbox == []
    # Given up is final: the weekly check neither sends it again nor counts it as pending.
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    with time_machine.travel(timezone.now() + datetime.timedelta(days=1)):
        report = remind_stale_actions_task(TODAY.isoformat())
    assert (report["queued"], report["failed"]) == (0, 1)
    assert mailoutbox == []


@pytest.mark.django_db
def test_it_sends_again_a_reminder_whose_task_died_while_sending(settings, mailoutbox, caplog):
    """The documented window: the task died after claiming the row, maybe after the server
    took the message. Once its lock expires the weekly check gives it to a new task."""
    _carrier("Police municipale", "pm")
    _, [claim] = reminders_claim_due(today=TODAY)
    ReminderSent.objects.filter(pk=claim.reminder_id).update(
        status=ReminderStatus.SENDING, attempts=1, locked_until=timezone.now() + LOCK
    )

    report = remind_stale_actions_task(TODAY.isoformat())  # the lock still holds
    assert (report["queued"], report["in_progress"], mailoutbox) == (0, 1, [])

    with time_machine.travel(timezone.now() + LOCK + datetime.timedelta(seconds=1)):
        report = remind_stale_actions_task(TODAY.isoformat())

    assert report["queued"] == 1
    assert [m.to for m in mailoutbox] == [["pm@example.org"]]
    row = ReminderSent.objects.get()
    assert (row.status, row.attempts) == (ReminderStatus.SENT, 2)
    assert "may receive it twice" in caplog.text


@pytest.mark.django_db
def test_it_forgets_a_claimed_reminder_that_has_nothing_left_to_say(settings, mailoutbox):
    police = _carrier("Police municipale", "pm")
    _, [claim] = reminders_claim_due(today=TODAY)
    Action.objects.filter(lead_organisation=police).update(
        last_update_at=timezone.now()
    )  # updated since the claim

    assert _send(claim.reminder_id, claim.task_id)["outcome"] == "nothing_to_send"
    assert mailoutbox == []
    assert not ReminderSent.objects.exists()
