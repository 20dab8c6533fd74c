"""`manage.py send_reminders`: re-running a missed weekly reminder by hand, without a worker."""

from __future__ import annotations

import datetime
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from actions.models import ReminderSent, ReminderStatus
from tests.factories import log_in_once

pytestmark = pytest.mark.django_db

DAY = "2026-03-18"  # week of Monday 16 March 2026


@pytest.fixture
def personas(personas):
    """Each logged in once: no digest for the coordinators (test_reminder_digest.py)."""
    log_in_once(personas.values())
    return personas


def _run(*args: str) -> str:
    out = StringIO()
    call_command("send_reminders", *args, stdout=out)
    return out.getvalue()


def test_it_sends_what_the_week_still_owes_and_nothing_twice(world, personas, mailoutbox):
    first = _run("--date", DAY)
    second = _run("--date", DAY)

    assert "Semaine du 16/03/2026 : 4 envoyée(s), 0 en échec, 0 déjà envoyée(s)" in first
    assert "0 envoyée(s), 0 en échec, 4 déjà envoyée(s)" in second
    assert len(mailoutbox) == 4
    assert set(ReminderSent.objects.values_list("week_start", "status")) == {
        (datetime.date(2026, 3, 16), ReminderStatus.SENT)
    }


def test_it_tries_given_up_reminders_again_only_when_asked(world, personas, mailoutbox):
    _run("--date", DAY)
    police = ReminderSent.objects.get(organisation=world.organisations["police"])
    ReminderSent.objects.filter(pk=police.pk).update(
        status=ReminderStatus.FAILED, attempts=10, sent_at=None
    )
    mailoutbox.clear()

    assert "1 abandonnée(s)" in _run("--date", DAY)
    assert mailoutbox == []

    output = _run("--date", DAY, "--retry-failed")

    assert "1 relance(s) abandonnée(s) remise(s) en attente." in output
    assert [m.to for m in mailoutbox] == [["police@example.org"]]
    police.refresh_from_db()
    assert (police.status, police.attempts) == (ReminderStatus.SENT, 1)


def test_it_refuses_a_date_it_cannot_read(db):
    with pytest.raises(CommandError, match="Date invalide"):
        _run("--date", "18/03/2026")
