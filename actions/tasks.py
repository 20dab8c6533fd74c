"""Celery tasks of the action plan: thin adapters over services (docs/architecture.md)."""

from __future__ import annotations

import datetime
from typing import Any

from celery import Task, shared_task
from django.conf import settings
from django.utils import timezone

from actions.reminders import reminder_send, reminders_claim_due, reminders_due

# One reminder is one SMTP exchange, each answer bounded by EMAIL_TIMEOUT: two minutes is
# plenty, and the hard limit frees the worker from a mail server that answers byte by byte.
# actions.reminders.LOCK and the broker's visibility timeout must both exceed it.
SEND_SOFT_TIME_LIMIT = 90
SEND_TIME_LIMIT = 120


@shared_task(bind=True)
def remind_stale_actions_task(self: Task[Any, Any], today: str | None = None) -> dict[str, Any]:
    """The weekly check, from beat every quarter of an hour (CELERY_BEAT_SCHEDULE).

    Claims this week's reminders not sent yet and enqueues one send task per organisation;
    does nothing before Monday 08:30. `today` (an ISO date) replays that day's week at once,
    e.g. `celery -A clspdr call actions.tasks.remind_stale_actions_task --args='["2026-03-18"]'`.
    """
    if today is None:
        now = timezone.now()
        if not reminders_due(now):
            return {"due": False}
        day = timezone.localdate(now)
    else:
        day = datetime.date.fromisoformat(today)
    report, claims = reminders_claim_due(today=day)
    for claim in claims:
        # The rows are committed (each in its own short transaction) before their task exists.
        send_stale_reminder_task.apply_async(
            (claim.reminder_id, day.isoformat()), task_id=claim.task_id, **_same_queue(self)
        )
    return report.as_dict()


@shared_task(
    bind=True,
    soft_time_limit=SEND_SOFT_TIME_LIMIT,
    time_limit=SEND_TIME_LIMIT,
    max_retries=None,  # bounded by actions.reminders.MAX_ATTEMPTS, counted in the database
)
def send_stale_reminder_task(self: Task[Any, Any], reminder_id: int, today: str) -> dict[str, Any]:
    """Send one organisation's weekly reminder, at most once; retried with backoff on failure."""
    result = reminder_send(
        reminder_id=reminder_id,
        task_id=str(self.request.id),
        today=datetime.date.fromisoformat(today),
    )
    if result.retry_in is not None and _may_wait_in_the_broker(self, result.retry_in):
        raise self.retry(countdown=result.retry_in)
    # A longer wait stays in the row (locked_until): the weekly check re-enqueues it when due.
    return result.as_dict()


def _may_wait_in_the_broker(task: Task[Any, Any], countdown: int) -> bool:
    """Whether a retry message may wait `countdown` seconds in Redis and still run only once.

    A worker holds a delayed message unacknowledged until it has run: past the visibility
    timeout Redis would deliver it a second time. Eager mode (no broker) would retry at once,
    ignoring the countdown.
    """
    visibility = settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]
    return not task.request.is_eager and countdown + SEND_TIME_LIMIT < visibility


def _same_queue(task: Task[Any, Any]) -> dict[str, Any]:
    """Route the send tasks to the queue the weekly check came from (a test's own queue)."""
    routing_key = (task.request.delivery_info or {}).get("routing_key")
    return {"queue": routing_key} if routing_key else {}
