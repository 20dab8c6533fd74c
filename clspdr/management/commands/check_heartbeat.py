"""`python manage.py check_heartbeat beat`: exit 1 unless beat (or the worker) is alive.

For monitoring that reads the database rather than Redis (docs/deployment.md, section 6): beat
stamps a heartbeat each minute when the broker takes its message, a worker when it runs it
(clspdr/heartbeats.py). The worker's heartbeat needs beat too: with beat down it goes stale as
well.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from clspdr.heartbeats import STALE_AFTER, heartbeats_read, is_stale
from clspdr.models import Heartbeat


class Command(BaseCommand):
    help = (
        "Vérifie le dernier signe de vie du beat ou du worker Celery : code de sortie 1 s'il "
        f"date de plus de {int(STALE_AFTER.total_seconds() // 60)} minutes ou n'existe pas."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("process", choices=[process.value for process in Heartbeat.Process])

    def handle(self, *args: Any, **options: Any) -> None:
        process = options["process"]
        at = heartbeats_read()[process]
        if is_stale(at):
            seen = at.isoformat() if at else "jamais"
            raise CommandError(f"{process} : dernier signe de vie {seen}, trop ancien.")
        age = int((timezone.now() - at).total_seconds()) if at else 0
        self.stdout.write(f"{process} : vivant (il y a {age} s).")
