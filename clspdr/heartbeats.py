"""Heartbeats of the Celery worker and beat, read by /healthz.

Beat sends `heartbeat_task` every minute (CELERY_BEAT_SCHEDULE) and stamps "beat" when the
broker has taken the message; a worker stamps "worker" when it runs it. Each process writes its
own row, so /healthz tells a stopped beat from a stopped or saturated worker. Without Redis
(eager mode) there is neither process: nothing is expected, nothing is reported stale.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from celery.signals import after_task_publish
from django.db import close_old_connections, connection
from django.utils import timezone

from clspdr.models import Heartbeat

logger = logging.getLogger(__name__)

HEARTBEAT_TASK = "clspdr.tasks.heartbeat_task"
# Beat sends every minute; a worker busy with two long jobs (CELERY_TASK_TIME_LIMIT, 5 min)
# runs the heartbeat late but is not dead.
STALE_AFTER = timedelta(minutes=10)


def heartbeat_record(*, process: Heartbeat.Process, at: datetime | None = None) -> None:
    """Upsert: two workers stamping at once both succeed."""
    Heartbeat.objects.bulk_create(
        [Heartbeat(process=process, at=at or timezone.now())],
        update_conflicts=True,
        unique_fields=["process"],
        update_fields=["at"],
    )


def heartbeats_read() -> dict[str, datetime | None]:
    stamps = dict(Heartbeat.objects.values_list("process", "at"))
    return {process.value: stamps.get(process.value) for process in Heartbeat.Process}


def is_stale(at: datetime | None, *, now: datetime | None = None) -> bool:
    return at is None or (now or timezone.now()) - at > STALE_AFTER


@after_task_publish.connect(sender=HEARTBEAT_TASK)
def _stamp_beat(**kwargs: Any) -> None:
    """In beat, once the broker holds the heartbeat message. Never breaks the publishing:
    with the database away beat must keep sending the other tasks."""
    # Beat has no request cycle to recycle connections: a fresh, bounded one each time
    # (DB_CONNECT_TIMEOUT) rather than one that may have died in between. A caller inside a
    # transaction (a test sending the task) keeps its connection.
    recycle = not connection.in_atomic_block
    if recycle:
        close_old_connections()
    try:
        heartbeat_record(process=Heartbeat.Process.BEAT)
    except Exception as exc:
        logger.warning("beat heartbeat not recorded: %s", exc)
    finally:
        if recycle:
            connection.close()
