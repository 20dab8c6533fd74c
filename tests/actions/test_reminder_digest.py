"""The coordinators' weekly digest (issue 10 point 9): what the reminders do not reach — stale
actions whose organisation has no contact, contacts who never logged in — and the preview of
`send_reminders --dry-run`."""

from __future__ import annotations

import datetime
from io import StringIO
from smtplib import SMTPException

import pytest
import time_machine
from django.core.mail.backends.locmem import EmailBackend as LocmemBackend
from django.core.management import call_command
from django.utils import timezone

from actions.models import ReminderKind, ReminderSent, ReminderStatus
from actions.reminders import reminders_preview
from actions.tasks import remind_stale_actions_task
from clspdr.models import Role, User
from tests.factories import ActionFactory, OrganisationFactory, UserFactory, log_in_once
from tests.queries import count_queries

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("celery_eager")]

TODAY = datetime.date(2026, 3, 18)  # week of Monday 16 March 2026
SITE_URL = "https://clspdr.example.org"
DIGEST_SUBJECT = "[CLSPDR de Manosque] Relances de la semaine"


@pytest.fixture(autouse=True)
def _site(settings):
    settings.SITE_URL = SITE_URL
    settings.SITE_NAME = "CLSPDR de Manosque"
    settings.STALE_ACTION_DAYS = 90


def _weekly_check(today: datetime.date = TODAY) -> dict:
    return remind_stale_actions_task(today.isoformat())


def _digests(outbox) -> list:
    return [m for m in outbox if m.subject.startswith(DIGEST_SUBJECT)]


def _html(message) -> str:
    [(content, mimetype)] = message.alternatives
    assert mimetype == "text/html"
    return content


def _town_without_contact(world, personas) -> None:
    """The town carries 3.5 but its only partner contact left: as 13 of the demo's 18
    organisations with stale actions, it has nobody to remind."""
    User.objects.filter(pk=personas["veille"].pk).update(is_active=False)


def test_it_tells_the_coordinators_what_the_reminders_do_not_reach(world, personas, mailoutbox):
    _town_without_contact(world, personas)
    log_in_once([personas["police"], personas["education"], personas["complexe"]])
    User.objects.filter(pk=personas["bailleur"].pk).update(
        date_joined=timezone.make_aware(datetime.datetime(2026, 3, 1, 10))
    )
    town_led = world.actions["ville_led"]
    town_led.last_update_at = timezone.make_aware(datetime.datetime(2025, 12, 1, 12))
    town_led.save()

    report = _weekly_check()

    [digest] = _digests(mailoutbox)
    assert digest.to == ["coordination@example.org"]
    assert digest.subject == (
        f"{DIGEST_SUBJECT} : 1 organisation sans contact, 1 référent jamais connecté"
    )
    text, html = digest.body, _html(digest)
    assert "semaine du 16 mars 2026" in text
    assert "Ville de Manosque (1 action)" in text
    assert "- 3.5 " in text
    assert "Dernière mise à jour\u00a0: 1er décembre 2025" in text
    assert f"{SITE_URL}/plan/actions/{town_led.pk}/" in text
    bailleur = personas["bailleur"]
    assert (
        f"- {bailleur.get_full_name()}, Habitations de Haute-Provence — bailleur@example.org"
        " — compte créé le 1er mars 2026"
    ) in text
    # those who logged in once are not listed
    assert personas["police"].get_full_name() not in text
    assert '<html lang="fr">' in html
    assert f'<a href="{SITE_URL}/plan/actions/{town_led.pk}/">3.5</a>' in html
    assert "1er décembre 2025" in html
    assert '<a href="mailto:bailleur@example.org">' in html
    # the organisations' reminders still go: police, college, landlord (the town has nobody)
    assert len(mailoutbox) == 4
    assert (report["queued"], report["without_contact"]) == (4, 1)
    row = ReminderSent.objects.get(kind=ReminderKind.DIGEST)
    assert (row.organisation, row.status, row.action_count) == (None, ReminderStatus.SENT, 1)


def test_it_sends_the_digest_once_a_week(world, personas, mailoutbox):
    _town_without_contact(world, personas)

    _weekly_check()
    _weekly_check(TODAY + datetime.timedelta(days=3))

    assert len(_digests(mailoutbox)) == 1

    _weekly_check(TODAY + datetime.timedelta(days=5))  # next Monday

    assert len(_digests(mailoutbox)) == 2
    assert list(
        ReminderSent.objects.filter(kind=ReminderKind.DIGEST).values_list("week_start", flat=True)
    ) == [datetime.date(2026, 3, 23), datetime.date(2026, 3, 16)]


def test_it_sends_no_digest_when_every_reminder_reaches_someone(world, personas, mailoutbox):
    log_in_once(personas.values())

    _weekly_check()

    assert len(mailoutbox) == 4
    assert _digests(mailoutbox) == []
    assert not ReminderSent.objects.filter(kind=ReminderKind.DIGEST).exists()


def test_it_sends_no_digest_without_an_active_coordinator(world, personas, mailoutbox):
    _town_without_contact(world, personas)
    User.objects.filter(role=Role.COORDINATOR).update(is_active=False)

    _weekly_check()

    assert _digests(mailoutbox) == []
    assert not ReminderSent.objects.filter(kind=ReminderKind.DIGEST).exists()


class DigestRefusedBackend(LocmemBackend):
    def send_messages(self, messages):
        if any(m.subject.startswith(DIGEST_SUBJECT) for m in messages):
            raise SMTPException("451 try again later")
        return super().send_messages(messages)


def test_it_retries_a_failed_digest_like_any_reminder(world, personas, mailoutbox, settings):
    _town_without_contact(world, personas)
    settings.EMAIL_BACKEND = f"{__name__}.DigestRefusedBackend"

    _weekly_check()

    row = ReminderSent.objects.get(kind=ReminderKind.DIGEST)
    assert (row.status, row.attempts) == (ReminderStatus.PENDING, 1)
    assert _digests(mailoutbox) == []
    assert row.locked_until is not None

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    with time_machine.travel(row.locked_until + datetime.timedelta(seconds=1)):
        _weekly_check()

    assert len(_digests(mailoutbox)) == 1
    row.refresh_from_db()
    assert (row.status, row.attempts) == (ReminderStatus.SENT, 2)


def _uncovered_organisations(world, n: int, *, first: int = 0) -> None:
    for index in range(first, first + n):
        organisation = OrganisationFactory(name=f"Association {index}")
        ActionFactory(axis=world.axes[1], number=str(20 + index), lead_organisation=organisation)
        UserFactory(
            username=f"jamais{index}", role=Role.PARTNER, organisation=OrganisationFactory()
        )


def test_its_queries_do_not_grow_with_the_organisations_without_contact(
    world, personas, mailoutbox
):
    log_in_once(personas.values())
    _uncovered_organisations(world, 1)
    one = count_queries(_weekly_check)
    ReminderSent.objects.all().delete()
    mailoutbox.clear()
    _uncovered_organisations(world, 5, first=1)

    six = count_queries(_weekly_check)

    [digest] = _digests(mailoutbox)
    assert digest.body.count("Association ") == 6
    assert "(6)" in digest.body  # six contacts who never logged in
    assert six == one


def _preview(*args: str) -> str:
    out = StringIO()
    call_command("send_reminders", "--date", "2026-03-18", *args, stdout=out)
    return out.getvalue()


def test_it_previews_the_week_without_sending_or_writing_anything(world, personas, mailoutbox):
    _town_without_contact(world, personas)

    output = _preview("--dry-run")

    assert mailoutbox == []
    assert not ReminderSent.objects.exists()
    assert "Aperçu des relances de la semaine du 16 mars 2026 (rien n'est envoyé)." in output
    assert "Police nationale — 1 action\n  Destinataires : police@example.org\n  - 3.1 " in output
    assert "Collège Jean Giono — 2 actions\n  Destinataires : education@example.org" in output
    assert (
        "Ville de Manosque — 1 action\n"
        "  Aucun contact : personne n'est relancé (signalé aux coordinateurs).\n"
        "  - 3.5 "
    ) in output
    assert "Récapitulatif des coordinateurs\n  Destinataires : coordination@example.org" in output
    assert "  Sans contact : Ville de Manosque (3.5)" in output
    assert f"  Jamais connecté : {personas['police'].get_full_name()}, Police nationale" in output
    assert _preview("--preview") == output


def test_it_previews_what_the_week_has_sent_already(world, personas, mailoutbox):
    _town_without_contact(world, personas)
    _weekly_check()
    mailoutbox.clear()

    output = _preview("--dry-run")

    assert mailoutbox == []
    assert "Police nationale — 1 action\n  Relance déjà envoyée cette semaine." in output
    assert "Récapitulatif des coordinateurs\n  Déjà envoyée cette semaine." in output


def test_its_preview_reads_as_many_queries_for_many_organisations_as_for_few(world, personas):
    _town_without_contact(world, personas)
    few = count_queries(lambda: reminders_preview(today=TODAY))
    _uncovered_organisations(world, 5)
    for index in range(5):
        organisation = OrganisationFactory(name=f"Partenaire {index}")
        ActionFactory(axis=world.axes[0], number=str(40 + index), lead_organisation=organisation)
        UserFactory(username=f"partenaire{index}", role=Role.PARTNER, organisation=organisation)

    many = count_queries(lambda: reminders_preview(today=TODAY))

    preview = reminders_preview(today=TODAY)
    assert len(preview.organisations) == 4 + 10
    assert len(preview.digest.uncovered) == 6
    assert many == few
