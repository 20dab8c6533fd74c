"""The weekly reminder of stale actions: who gets it, what it says, and that it is sent once."""

from __future__ import annotations

import datetime
import json
import threading
from smtplib import SMTPException

import pytest
import time_machine
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend as LocmemBackend
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from actions.models import ReminderSent, ReminderStatus, Status
from actions.reminders import week_start
from actions.tasks import remind_stale_actions_task
from clspdr.models import Role, User
from tests.factories import (
    ActionFactory,
    AxisFactory,
    OrganisationFactory,
    StrategyFactory,
    UserFactory,
    log_in_once,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("celery_eager")]

TODAY = datetime.date(2026, 3, 18)  # a Wednesday; its ISO week starts on Monday 16 March
SITE_URL = "https://clspdr.example.org"


@pytest.fixture(autouse=True)
def _site(settings):
    settings.SITE_URL = SITE_URL + "/"  # a trailing slash must not double in the links
    settings.SITE_NAME = "CLSPDR de Manosque"
    settings.STALE_ACTION_DAYS = 90


@pytest.fixture
def personas(personas):
    """The personas, each logged in once: the coordinators' digest then has nothing to say
    (every organisation carrying stale actions has a contact), and these tests see only the
    organisations' reminders. The digest's own tests are in test_reminder_digest.py."""
    log_in_once(personas.values())
    return personas


def _weekly_check(*, today: datetime.date) -> dict:
    """One run of the weekly check for `today`'s week, its send tasks run in this process."""
    return remind_stale_actions_task(today.isoformat())


def _report(**counts: int) -> dict:
    return {
        "due": True,
        "queued": 0,
        "in_progress": 0,
        "sent": 0,
        "failed": 0,
        "without_contact": 0,
        **counts,
    }


def _days_ago(days: int) -> datetime.datetime:
    """Noon, local time, `days` days before TODAY."""
    day = TODAY - datetime.timedelta(days=days)
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(12)))


def _set(action, **fields) -> None:
    for name, value in fields.items():
        setattr(action, name, value)
    action.save()


def _by_recipients(outbox) -> dict[tuple[str, ...], mail.EmailMultiAlternatives]:
    return {tuple(sorted(message.to)): message for message in outbox}


def _html(message) -> str:
    [(content, mimetype)] = message.alternatives
    assert mimetype == "text/html"
    return content


def test_it_sends_one_mail_per_organisation_carrying_stale_actions(world, personas, mailoutbox):
    report = _weekly_check(today=TODAY)

    # police leads 3.1, the college leads 1.1 and contributes to 3.1, the town leads 3.5
    # and the landlord contributes to it; the hospital carries nothing.
    messages = _by_recipients(mailoutbox)
    assert sorted(messages) == [
        ("bailleur@example.org",),
        ("education@example.org",),
        ("police@example.org",),
        ("veille@example.org",),
    ]
    assert messages[("education@example.org",)].subject == (
        "[CLSPDR de Manosque] 2 actions à mettre à jour"
    )
    assert messages[("police@example.org",)].subject == (
        "[CLSPDR de Manosque] 1 action à mettre à jour"
    )
    assert report == _report(queued=4)
    rows = ReminderSent.objects.filter(week_start=datetime.date(2026, 3, 16))
    assert {
        (r.organisation and r.organisation.name, r.action_count, r.status, r.attempts) for r in rows
    } == {
        ("Police nationale", 1, ReminderStatus.SENT, 1),
        ("Collège Jean Giono", 2, ReminderStatus.SENT, 1),
        ("Ville de Manosque", 1, ReminderStatus.SENT, 1),
        ("Habitations de Haute-Provence", 1, ReminderStatus.SENT, 1),
    }


def test_it_leaves_out_recently_updated_actions(world, personas, mailoutbox):
    _set(world.actions["police_led"], last_update_at=_days_ago(89))
    _set(world.actions["college_led"], last_update_at=_days_ago(91))

    _weekly_check(today=TODAY)

    messages = _by_recipients(mailoutbox)
    assert ("police@example.org",) not in messages  # its only action is fresh
    college = messages[("education@example.org",)]
    assert "1.1 " in college.body
    assert "3.1 " not in college.body
    assert college.subject.endswith("1 action à mettre à jour")


def test_it_leaves_out_done_and_abandoned_actions(world, personas, mailoutbox):
    _set(world.actions["police_led"], status=Status.DONE, progress=100)
    _set(world.actions["ville_led"], status=Status.ABANDONED)

    _weekly_check(today=TODAY)

    assert sorted(_by_recipients(mailoutbox)) == [("education@example.org",)]
    assert "3.1 " not in mailoutbox[0].body


def test_it_keeps_postponed_and_in_progress_actions(world, personas, mailoutbox):
    _set(world.actions["police_led"], status=Status.POSTPONED, last_update_at=_days_ago(200))
    _set(world.actions["college_led"], status=Status.IN_PROGRESS, progress=30)

    _weekly_check(today=TODAY)

    assert ("police@example.org",) in _by_recipients(mailoutbox)
    assert "1.1 " in _by_recipients(mailoutbox)[("education@example.org",)].body


def test_it_leaves_out_the_actions_of_other_strategies(world, personas, mailoutbox):
    old = StrategyFactory(slug="manosque-2019-2022", start_year=2019, end_year=2022)
    ActionFactory(
        axis=AxisFactory(strategy=old, number=1),
        number="9",
        lead_organisation=world.organisations["hopital"],
    )

    _weekly_check(today=TODAY)

    assert ("complexe@example.org",) not in _by_recipients(mailoutbox)


def test_it_writes_only_to_the_active_partner_contacts_of_the_organisation(
    world, personas, mailoutbox
):
    police = world.organisations["police"]
    UserFactory(username="police2", role=Role.PARTNER, organisation=police)
    UserFactory(username="gone", role=Role.PARTNER, organisation=police, is_active=False)
    UserFactory(username="nomail", role=Role.PARTNER, organisation=police, email="")
    UserFactory(username="chef", role=Role.MEMBER, organisation=police)
    UserFactory(username="coord2", role=Role.COORDINATOR, organisation=police)

    log_in_once(User.objects.all())

    _weekly_check(today=TODAY)

    police_mail = next(m for m in mailoutbox if "police@example.org" in m.to)
    assert sorted(police_mail.to) == ["police2@example.org", "police@example.org"]
    assert not police_mail.cc
    assert not police_mail.bcc
    # the town's coordinator and elected member are not partner contacts: only "veille"
    assert ("veille@example.org",) in _by_recipients(mailoutbox)
    assert sum(len(m.to) for m in mailoutbox) == 5


def test_it_skips_organisations_without_contact_and_reminds_them_once_they_have_one(
    world, mailoutbox
):
    UserFactory(username="police", role=Role.PARTNER, organisation=world.organisations["police"])

    report = _weekly_check(today=TODAY)

    assert [m.to for m in mailoutbox] == [["police@example.org"]]
    assert report["without_contact"] == 3
    assert ReminderSent.objects.count() == 1

    # a referent named later in the week gets the reminder of that week
    UserFactory(
        username="education", role=Role.PARTNER, organisation=world.organisations["college"]
    )
    second = _weekly_check(today=TODAY)

    assert [m.to for m in mailoutbox[1:]] == [["education@example.org"]]
    assert (second["queued"], second["sent"]) == (1, 1)


def test_it_writes_in_french_with_a_link_to_each_sheet(world, personas, mailoutbox):
    police_led, college_led = world.actions["police_led"], world.actions["college_led"]
    _set(police_led, title="Lutter contre les rodéos urbains", last_update_at=_days_ago(120))

    _weekly_check(today=TODAY)

    message = _by_recipients(mailoutbox)[("education@example.org",)]
    text, html = message.body, _html(message)
    assert text.startswith("Bonjour,")
    assert "2 actions portées par votre organisation (Collège Jean Giono)" in text
    assert "depuis plus de 90 jours\u00a0:" in text
    assert "3.1 Lutter contre les rodéos urbains" in text
    assert "Dernière mise à jour\u00a0: 18 novembre 2025" in text  # 120 days before TODAY
    assert "Dernière mise à jour\u00a0: jamais" in text
    assert f"{SITE_URL}/plan/actions/{police_led.pk}/" in text
    assert f"{SITE_URL}/plan/actions/{college_led.pk}/" in text
    # never updated first: the most urgent on top
    assert text.index("1.1 ") < text.index("3.1 ")
    assert '<html lang="fr">' in html
    assert f'<a href="{SITE_URL}/plan/actions/{police_led.pk}/">3.1</a>' in html
    assert "18 novembre 2025" in html
    assert "jamais" in html
    assert "<caption>" in html
    assert "Lutter contre les rodéos urbains" in html


def test_it_names_nobody_but_the_coordinator_to_ask(world, personas, mailoutbox):
    """T-10 (docs/security.md): no name of a person in the e-mail, only organisations and
    actions, and the coordinator whom to ask."""
    _weekly_check(today=TODAY)

    assert mailoutbox
    coordinator = personas["coordination"]
    for message in mailoutbox:
        for content in (message.subject, message.body, _html(message)):
            for user in filter(None, personas.values()):
                if user == coordinator:
                    continue
                assert user.get_full_name() not in content
                assert user.email not in content


def test_it_names_the_coordinators_to_ask_and_replies_reach_them(world, personas, mailoutbox):
    UserFactory(
        username="adjointe",
        first_name="Nadia",
        last_name="Ferhat",
        role=Role.COORDINATOR,
        organisation=world.organisations["ville"],
        last_login=timezone.now(),
    )
    UserFactory(username="partie", role=Role.COORDINATOR, is_active=False)
    coordinator = personas["coordination"]

    _weekly_check(today=TODAY)

    message = _by_recipients(mailoutbox)[("police@example.org",)]
    contact = f"{coordinator.first_name} {coordinator.last_name} <coordination@example.org>"
    assert (
        "Pour toute question, écrivez à la coordination du CLSPDR\u00a0: "
        f"Nadia Ferhat <adjointe@example.org>, {contact}" in message.body
    )
    assert "ne pas y répondre" not in message.body
    assert '<a href="mailto:coordination@example.org">coordination@example.org</a>' in (
        _html(message)
    )
    assert sorted(message.reply_to) == ["adjointe@example.org", "coordination@example.org"]
    assert "partie@example.org" not in message.body


def test_it_asks_not_to_reply_when_there_is_no_coordinator(world, mailoutbox):
    UserFactory(username="police", role=Role.PARTNER, organisation=world.organisations["police"])

    _weekly_check(today=TODAY)

    [message] = mailoutbox
    assert "merci de ne pas y répondre" in message.body
    assert message.reply_to == []


def test_it_escapes_action_titles_in_the_html_version(world, personas, mailoutbox):
    _set(world.actions["police_led"], title="Caméras <b>& médiation</b>")

    _weekly_check(today=TODAY)

    html = _html(_by_recipients(mailoutbox)[("police@example.org",)])
    assert "Caméras &lt;b&gt;&amp; médiation&lt;/b&gt;" in html
    assert "Caméras <b>& médiation</b>" in _by_recipients(mailoutbox)[("police@example.org",)].body


def test_it_sends_nothing_the_second_time_in_the_same_week(world, personas, mailoutbox):
    _weekly_check(today=TODAY)
    sent = list(ReminderSent.objects.values_list("pk", "sent_at", "action_count", "attempts"))

    # later that week, and even with one more stale action: the organisation was reminded
    ActionFactory(axis=world.axes[0], number="7", lead_organisation=world.organisations["police"])
    report = _weekly_check(today=TODAY + datetime.timedelta(days=4))  # Sunday

    assert len(mailoutbox) == 4
    assert (
        list(ReminderSent.objects.values_list("pk", "sent_at", "action_count", "attempts")) == sent
    )
    assert report == _report(sent=4)


def test_it_sends_again_the_next_week(world, personas, mailoutbox):
    _weekly_check(today=TODAY)
    mailoutbox.clear()

    report = _weekly_check(today=TODAY + datetime.timedelta(days=5))  # next Monday

    assert len(mailoutbox) == 4
    assert report["queued"] == 4
    assert set(ReminderSent.objects.values_list("week_start", flat=True)) == {
        datetime.date(2026, 3, 16),
        datetime.date(2026, 3, 23),
    }


class PoliceMailboxDownBackend(LocmemBackend):
    """The police's mail server refuses the message; everyone else's accepts it."""

    def send_messages(self, messages):
        if any("police@example.org" in m.to for m in messages):
            raise SMTPException("451 mailbox unavailable")
        return super().send_messages(messages)


def test_it_does_not_mark_a_failed_mail_as_sent_and_retries_it(
    world, personas, mailoutbox, settings
):
    settings.EMAIL_BACKEND = f"{__name__}.PoliceMailboxDownBackend"

    _weekly_check(today=TODAY)

    # the failure did not stop the others, and the police's reminder waits for its retry
    assert len(mailoutbox) == 3
    police = ReminderSent.objects.get(organisation=world.organisations["police"])
    assert (police.status, police.attempts, police.sent_at) == (ReminderStatus.PENDING, 1, None)
    assert "451 mailbox unavailable" in police.last_error

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    early = _weekly_check(today=TODAY)  # before the retry delay: nothing yet

    assert len(mailoutbox) == 3
    assert early == _report(in_progress=1, sent=3)

    assert police.locked_until is not None
    with time_machine.travel(police.locked_until + datetime.timedelta(seconds=1)):
        retry = _weekly_check(today=TODAY)

    assert [m.to for m in mailoutbox[3:]] == [["police@example.org"]]
    assert retry == _report(queued=1, sent=3)
    police.refresh_from_db()
    assert (police.status, police.attempts, police.last_error) == (ReminderStatus.SENT, 2, "")


def test_it_sends_nothing_without_a_strategy(db, mailoutbox):
    report = _weekly_check(today=TODAY)

    assert mailoutbox == []
    assert report == _report()


def test_it_takes_the_week_from_monday():
    assert week_start(datetime.date(2026, 3, 16)) == datetime.date(2026, 3, 16)
    assert week_start(datetime.date(2026, 3, 22)) == datetime.date(2026, 3, 16)
    assert week_start(datetime.date(2027, 1, 1)) == datetime.date(2026, 12, 28)


def test_it_runs_as_a_task_with_json_arguments_and_result(world, personas, mailoutbox):
    result = remind_stale_actions_task(TODAY.isoformat())

    assert json.loads(json.dumps(result)) == result
    assert result["queued"] == 4
    assert len(mailoutbox) == 4


def test_it_defaults_to_the_current_week_as_a_task(world, personas, mailoutbox):
    with time_machine.travel(datetime.datetime(2026, 3, 18, 12, tzinfo=datetime.UTC)):
        remind_stale_actions_task()

    assert set(ReminderSent.objects.values_list("week_start", flat=True)) == {
        datetime.date(2026, 3, 16)
    }


class GatedBackend(LocmemBackend):
    """Holds every message until the test opens the gate, to keep a run inside its send."""

    sending = threading.Event()
    gate = threading.Event()

    def send_messages(self, messages):
        GatedBackend.sending.set()
        assert GatedBackend.gate.wait(30), "the test never opened the gate"
        return super().send_messages(messages)


def _lock_without_waiting(pk: int) -> ReminderSent:
    """The row, locked from this connection: fails at once (PostgreSQL) if another transaction
    holds it; on SQLite the write fails after the busy timeout if another one is open."""
    with transaction.atomic():
        row = ReminderSent.objects.select_for_update(nowait=True).get(pk=pk)
        ReminderSent.objects.filter(pk=pk).update(action_count=F("action_count"))
        return row


@pytest.mark.django_db(transaction=True)
def test_it_sends_one_mail_when_two_runs_overlap_without_waiting_for_each_other(
    mailoutbox, settings
):
    """Beat fired twice, or a re-delivery while the first run is still sending: the second
    run finds the reminder claimed, committed and unlocked, and leaves it to the first."""
    organisation = OrganisationFactory(name="Police municipale")
    UserFactory(username="pm", role=Role.PARTNER, organisation=organisation)
    ActionFactory(axis=AxisFactory(number=1), number="1", lead_organisation=organisation)
    settings.EMAIL_BACKEND = f"{__name__}.GatedBackend"
    GatedBackend.sending.clear()
    GatedBackend.gate.clear()
    if connection.vendor == "postgresql":  # a regression would wait on a lock: fail instead
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '10s'")
    reports: dict[str, dict] = {}

    def run() -> None:
        try:
            reports["first"] = _weekly_check(today=TODAY)
        finally:
            connection.close()

    first = threading.Thread(target=run)
    first.start()
    try:
        assert GatedBackend.sending.wait(30)
        # The first run is inside its SMTP exchange, with its claim committed and no lock held.
        row = _lock_without_waiting(ReminderSent.objects.get().pk)
        assert (row.status, row.attempts) == (ReminderStatus.SENDING, 1)
        reports["second"] = _weekly_check(today=TODAY)
    finally:
        GatedBackend.gate.set()
        first.join(30)

    assert len(mailoutbox) == 1
    assert reports["first"]["queued"] == 1
    assert reports["second"] == _report(in_progress=1)
    row = ReminderSent.objects.get(organisation_id=organisation.pk)
    assert (row.status, row.attempts) == (ReminderStatus.SENT, 1)


def test_it_reminds_the_stale_actions_of_every_councils_strategy(world, personas, mailoutbox):
    from tests.queries import add_councils

    hospital = world.organisations["hopital"]  # carries nothing in Manosque
    [elsewhere] = add_councils(1, lead=hospital)
    _set(elsewhere, last_update_at=_days_ago(200))

    _weekly_check(today=TODAY)

    message = _by_recipients(mailoutbox)[("complexe@example.org",)]
    assert f"/plan/actions/{elsewhere.pk}/" in message.body


def test_it_runs_as_many_queries_for_five_councils_as_for_one(world, personas, mailoutbox):
    """The councils' strategies are read together: the same organisations reminded of the
    stale actions of five councils cost the queries of one."""
    from tests.queries import add_councils, count_queries

    one = count_queries(lambda: _weekly_check(today=TODAY))
    reminded = len(mailoutbox)
    ReminderSent.objects.all().delete()
    mailoutbox.clear()
    police, college = world.organisations["police"], world.organisations["college"]
    for action in add_councils(2, lead=police) + add_councils(2, lead=college):
        _set(action, last_update_at=_days_ago(200))

    five = count_queries(lambda: _weekly_check(today=TODAY))

    assert len(mailoutbox) == reminded
    # the police's action here and its two elsewhere, in the one mail of the week
    assert _by_recipients(mailoutbox)[("police@example.org",)].subject.endswith(
        "3 actions à mettre à jour"
    )
    assert five == one


def test_it_writes_the_first_of_the_month_as_french_does(world, personas, mailoutbox):
    """ "1er décembre", never "1 décembre", in both parts of the e-mail."""
    _set(world.actions["police_led"], last_update_at=_days_ago(107))  # 1 December 2025

    _weekly_check(today=TODAY)

    message = _by_recipients(mailoutbox)[("education@example.org",)]
    assert "Dernière mise à jour\u00a0: 1er décembre 2025" in message.body
    assert '<time datetime="2025-12-01T12:00:00+01:00">1er décembre 2025</time>' in _html(message)
