"""Celery tasks of the action plan: thin adapters over services (STYLE #6)."""

from __future__ import annotations

import datetime

from celery import shared_task

from actions.reminders import reminders_send_stale


@shared_task
def remind_stale_actions_task(today: str | None = None) -> dict[str, int]:
    """Weekly, from beat (CELERY_BEAT_SCHEDULE). `today` is an ISO date, to replay a given week.

    Idempotent per ISO week, so a re-delivery (acks_late, a second beat) sends nothing twice.
    """
    day = datetime.date.fromisoformat(today) if today else None
    return reminders_send_stale(today=day).as_dict()
