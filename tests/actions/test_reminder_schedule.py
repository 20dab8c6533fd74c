"""The weekly check never skips a week silently (issue 7 point 3): beat runs it often, it sends
nothing before Monday 08:30 local time, and any run after that sends what the week still
owes, once. A database down at 08:30, or beat restarting across that minute, costs a delay."""

from __future__ import annotations

import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings as django_settings

from actions.models import ReminderSent, ReminderStatus
from actions.tasks import remind_stale_actions_task
from tests.factories import log_in_once

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("celery_eager")]

PARIS = ZoneInfo("Europe/Paris")


@pytest.fixture
def personas(personas):
    """Each logged in once: no digest for the coordinators (test_reminder_digest.py)."""
    log_in_once(personas.values())
    return personas


def _at(day: int, hour: int, minute: int = 0) -> datetime.datetime:
    """A time of March 2026, local time: Monday 16 is the start of an ISO week."""
    return datetime.datetime(2026, 3, day, hour, minute, tzinfo=PARIS)


def _check_at(moment: datetime.datetime) -> dict:
    with time_machine.travel(moment, tick=False):
        return remind_stale_actions_task()


def test_it_sends_nothing_before_monday_half_past_eight(world, personas, mailoutbox):
    assert _check_at(_at(16, 0, 15)) == {"due": False}  # the new week has begun, not its day
    assert _check_at(_at(16, 8, 29)) == {"due": False}

    assert mailoutbox == []
    assert not ReminderSent.objects.exists()

    assert _check_at(_at(16, 8, 30))["queued"] == 4
    assert len(mailoutbox) == 4


def test_it_catches_up_the_weeks_reminders_on_monday_at_eleven_once(world, personas, mailoutbox):
    """Nothing ran at 08:30 (database down, beat restarting): the 11:00 run sends."""
    first = _check_at(_at(16, 11))
    second = _check_at(_at(16, 11, 15))
    tuesday = _check_at(_at(17, 9))

    assert first["queued"] == 4
    assert (second["queued"], second["sent"]) == (0, 4)
    assert (tuesday["queued"], tuesday["sent"]) == (0, 4)
    assert len(mailoutbox) == 4
    assert set(ReminderSent.objects.values_list("week_start", "status")) == {
        (datetime.date(2026, 3, 16), ReminderStatus.SENT)
    }


def test_it_catches_up_a_missed_monday_on_tuesday(world, personas, mailoutbox):
    first = _check_at(_at(17, 14))
    second = _check_at(_at(17, 15))

    assert (first["queued"], second["queued"]) == (4, 0)
    assert len(mailoutbox) == 4


def test_it_sends_again_from_the_next_monday_half_past_eight(world, personas, mailoutbox):
    _check_at(_at(16, 9))
    assert _check_at(_at(23, 8, 15)) == {"due": False}
    assert len(mailoutbox) == 4

    assert _check_at(_at(23, 8, 30))["queued"] == 4

    assert len(mailoutbox) == 8
    assert ReminderSent.objects.filter(week_start=datetime.date(2026, 3, 23)).count() == 4


def test_it_runs_the_weekly_check_at_least_every_hour_of_every_day():
    schedule = django_settings.CELERY_BEAT_SCHEDULE["remind-stale-actions"]["schedule"]

    assert schedule.hour == set(range(24))
    assert schedule.day_of_week == set(range(7))
    assert schedule.day_of_month == set(range(1, 32))
    assert schedule.minute, "at least one run an hour"
    assert 30 in schedule.minute, "a run at 08:30 itself, not only the next one"
