"""`python manage.py send_reminders`: the weekly reminder now, in this process, without a worker."""

from __future__ import annotations

import datetime
from collections import Counter
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from actions.reminders import (
    reminder_send,
    reminders_claim_due,
    reminders_reopen_failed,
    week_start,
)


class Command(BaseCommand):
    help = (
        "Envoie tout de suite les relances hebdomadaires que la semaine n'a pas encore reçues, "
        "sans attendre beat ni passer par un worker (par exemple après une panne). Une "
        "organisation déjà relancée cette semaine ne l'est pas une seconde fois."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--date",
            help="un jour de la semaine à traiter, AAAA-MM-JJ (par défaut aujourd'hui)",
        )
        parser.add_argument(
            "--retry-failed",
            action="store_true",
            help="réessayer aussi les relances abandonnées après 10 échecs d'envoi",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        today = _day(options["date"])
        week = week_start(today)
        if options["retry_failed"]:
            reopened = reminders_reopen_failed(week=week)
            self.stdout.write(f"{reopened} relance(s) abandonnée(s) remise(s) en attente.")
        report, claims = reminders_claim_due(today=today)
        outcomes = Counter(
            reminder_send(reminder_id=c.reminder_id, task_id=c.task_id, today=today).outcome.value
            for c in claims
        )
        self.stdout.write(
            f"Semaine du {week:%d/%m/%Y} : {outcomes['sent']} envoyée(s), "
            f"{outcomes['retry'] + outcomes['failed']} en échec, "
            f"{report.sent} déjà envoyée(s), {report.in_progress} en cours ailleurs, "
            f"{report.failed} abandonnée(s), {report.without_contact} organisation(s) sans contact."
        )
        if outcomes["retry"]:
            self.stdout.write(
                "Les envois en échec seront réessayés par beat ; voir les journaux pour la cause."
            )


def _day(value: str | None) -> datetime.date:
    if value is None:
        return timezone.localdate()
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"Date invalide : {value!r} (attendu AAAA-MM-JJ)") from None
