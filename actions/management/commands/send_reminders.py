"""`python manage.py send_reminders`: the weekly reminder now, in this process, without a worker;
with `--dry-run`, what it would send, without sending or writing anything."""

from __future__ import annotations

import datetime
from collections import Counter
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from actions.models import ReminderStatus
from actions.reminders import (
    Preview,
    reminder_send,
    reminders_claim_due,
    reminders_preview,
    reminders_reopen_failed,
    week_start,
)
from clspdr.templatetags.clspdr import frdate


class Command(BaseCommand):
    help = (
        "Envoie tout de suite les relances hebdomadaires que la semaine n'a pas encore reçues, "
        "sans attendre beat ni passer par un worker (par exemple après une panne). Une "
        "organisation déjà relancée cette semaine ne l'est pas une seconde fois. Avec "
        "--dry-run, montre qui recevrait quelles actions, et le récapitulatif des "
        "coordinateurs, sans rien envoyer ni enregistrer."
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
        parser.add_argument(
            "--dry-run",
            "--preview",
            action="store_true",
            dest="dry_run",
            help="montrer ce qui serait envoyé, sans rien envoyer ni enregistrer",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        today = _day(options["date"])
        week = week_start(today)
        if options["dry_run"]:
            self.stdout.write(_describe(reminders_preview(today=today)))
            return
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


_STATUS = {
    ReminderStatus.SENT: "déjà envoyée cette semaine",
    ReminderStatus.FAILED: "abandonnée après échecs cette semaine (--retry-failed pour réessayer)",
    ReminderStatus.PENDING: "en attente d'envoi",
    ReminderStatus.SENDING: "en cours d'envoi",
}


def _describe(preview: Preview) -> str:
    """The preview in French, for a person at a terminal."""
    lines = [f"Aperçu des relances de la semaine du {frdate(preview.week)} (rien n'est envoyé)."]
    if not preview.organisations:
        lines.append("Aucune action sans mise à jour : aucune relance.")
    for item in preview.organisations:
        lines.append("")
        count = len(item.actions)
        lines.append(f"{item.organisation.name} — {count} action{'s' if count > 1 else ''}")
        if item.status:
            lines.append(f"  Relance {_STATUS[ReminderStatus(item.status)]}.")
        elif item.recipients:
            lines.append(f"  Destinataires : {', '.join(item.recipients)}")
        else:
            lines.append("  Aucun contact : personne n'est relancé (signalé aux coordinateurs).")
        lines.extend(f"  - {action.code} {action.title}" for action in item.actions)
    digest = preview.digest
    lines.append("")
    lines.append("Récapitulatif des coordinateurs")
    if preview.digest_status:
        lines.append(f"  {_STATUS[ReminderStatus(preview.digest_status)].capitalize()}.")
    elif digest.empty:
        lines.append("  Rien à signaler : pas de récapitulatif cette semaine.")
    elif not digest.coordinators:
        lines.append("  Aucun coordinateur actif avec une adresse e-mail : il ne part pas.")
    else:
        lines.append("  Destinataires : " + ", ".join(user.email for user in digest.coordinators))
    if not digest.empty:
        for organisation, actions in digest.uncovered:
            lines.append(
                f"  Sans contact : {organisation.name} "
                f"({', '.join(action.code for action in actions)})"
            )
        for user in digest.never_logged_in:
            who = user.get_full_name() or user.username
            where = f", {user.organisation.name}" if user.organisation else ""
            lines.append(f"  Jamais connecté : {who}{where}")
    return "\n".join(lines)


def _day(value: str | None) -> datetime.date:
    if value is None:
        return timezone.localdate()
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"Date invalide : {value!r} (attendu AAAA-MM-JJ)") from None
