"""The weekly reminder of stale actions, sent to the partner organisations that carry them.

An action is stale when it belongs to the current strategy of its council (every council's),
is neither done nor abandoned, and has had no update for more than `STALE_ACTION_DAYS` days
(or never). Each organisation that
leads or contributes to stale actions gets one e-mail a week, addressed to its active partner
contacts, listing those actions with a link to their sheet. The only person it names is whom
to ask: the active coordinators (their name and address, and Reply-To).

Many organisations have no partner contact, so nobody would hear of their stale actions: the
coordinators get a weekly digest of the stale actions whose carrier has no contact, and of the
partner contacts who never logged in. It is claimed and sent like the organisations' e-mails,
as a row of the same table without organisation (`ReminderKind.DIGEST`).
`reminders_preview` says what the week would send, writing nothing (`send_reminders --dry-run`).

How an e-mail is sent once per organisation and ISO week, without ever holding a database
transaction while talking to the mail server:

1. `reminders_claim_due` (beat, every quarter of an hour, from Monday 08:30 local time) writes
   one `ReminderSent` row per organisation and week (and the digest's), each in its own short
   transaction. The unique
   index makes the row the claim: a second run, or a concurrent one, finds it and creates none.
   The row names the task that will send it (`task_id`) and is locked to that task for a while
   (`locked_until`); the caller then enqueues one task per row, with that id.
2. `reminder_send` (that task) takes the row with one conditional UPDATE (status "sending",
   attempts + 1) that only the named task, or anyone once the lock has expired, can win; it
   sends the e-mail with no transaction open (`EMAIL_TIMEOUT` bounds each SMTP answer), then
   marks the row "sent" in another short UPDATE.
3. A failed send puts the row back to "pending", locked to the same task for the retry delay
   (`EMAIL_RETRY_DELAY`, doubled at each attempt): a Celery retry keeps the task id, so it takes
   the row again; if that retry is lost, the next run of step 1 hands the row to a new task once
   the lock expires. After `MAX_ATTEMPTS` the row is "failed" and an error is logged.

Delivery is at least once, and exactly once unless a worker dies in one narrow window: after
the mail server accepted the message and before the "sent" UPDATE commits (or if the database
refuses that UPDATE). The row then stays "sending"; when its lock expires (or at once, when
the broker re-delivers the same task) it is sent again, and a warning says it may be a
duplicate. The other choice, marking the row before sending, would turn the same crash into a
week without reminder that nobody sees: a rare duplicate is the lesser harm.
"""

from __future__ import annotations

import datetime
import logging
import uuid
from collections import defaultdict
from dataclasses import asdict, dataclass
from enum import Enum

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.db.models import F, Q, QuerySet
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from actions.models import (
    Action,
    ActionContributor,
    ActionQuerySet,
    ReminderKind,
    ReminderSent,
    ReminderStatus,
    Status,
)
from actions.selectors import least_recently_updated
from axes.models import Strategy
from axes.selectors import pick_current
from clspdr.models import Role, User
from clspdr.text import strip_invisible
from governance.models import Organisation

logger = logging.getLogger(__name__)

CLOSED_STATUSES = (Status.DONE, Status.ABANDONED)
# Not before Monday at this local time: the reminder is the week's first news, not Sunday's.
SEND_FROM = datetime.time(8, 30)
MAX_ATTEMPTS = 10  # with EMAIL_RETRY_DELAY = 60 s, the last one comes about 8.5 hours later
# How long a row stays reserved for the task named on it. It must exceed the send task's hard
# time limit (actions/tasks.py): when the lock expires, that task is certainly no longer running.
LOCK = datetime.timedelta(minutes=5)
_OPEN = (ReminderStatus.PENDING, ReminderStatus.SENDING)


@dataclass(frozen=True)
class DispatchReport:
    """What one run of the weekly check found, per organisation carrying stale actions."""

    due: bool = True  # False before Monday 08:30: the run looked at nothing
    queued: int = 0  # handed to a send task by this run (new this week, or taken over)
    in_progress: int = 0  # a task holds it: being sent, or waiting for its retry
    sent: int = 0  # already sent this week
    failed: int = 0  # given up after MAX_ATTEMPTS
    without_contact: int = 0  # carries stale actions but has no partner contact with an e-mail
    # The coordinators' digest is one more row, counted above (queued, sent...) like the others.

    def as_dict(self) -> dict[str, int | bool]:
        return asdict(self)


@dataclass(frozen=True)
class Claim:
    """A row handed to a task: enqueue the send task with exactly this id."""

    reminder_id: int
    task_id: str


class Outcome(Enum):
    SENT = "sent"
    RETRY = "retry"  # failed, will be tried again after `retry_in` seconds
    FAILED = "failed"  # failed for the last time
    NOTHING_TO_SEND = "nothing_to_send"  # no stale action or no contact left: row removed
    NOT_MINE = "not_mine"  # sent already, given up, or held by another task: nothing done


@dataclass(frozen=True)
class SendResult:
    outcome: Outcome
    recipients: int = 0
    retry_in: int | None = None  # seconds

    def as_dict(self) -> dict[str, str | int | None]:
        return {"outcome": self.outcome.value, "recipients": self.recipients}


def week_start(day: datetime.date) -> datetime.date:
    """Monday of `day`'s ISO week: the key that makes the reminder weekly."""
    return day - datetime.timedelta(days=day.weekday())


def reminders_due(now: datetime.datetime) -> bool:
    """Whether this week's reminders may go: from Monday 08:30 local time on."""
    local = timezone.localtime(now)
    opening = datetime.datetime.combine(week_start(local.date()), SEND_FROM)
    return local >= timezone.make_aware(opening)


def current_strategies(today: datetime.date) -> list[Strategy]:
    """Each council's current strategy (councils told apart by their town): the one running in
    `today`'s year, else its latest. One query, whatever the number of councils."""
    by_town: dict[str, list[Strategy]] = defaultdict(list)
    for strategy in Strategy.objects.all():
        by_town[strategy.town].append(strategy)
    picked = (pick_current(strategies, today.year) for strategies in by_town.values())
    return [strategy for strategy in picked if strategy is not None]


def stale_actions(*, today: datetime.date) -> ActionQuerySet:
    """Open actions of every council's current strategy without an update for more than
    STALE_ACTION_DAYS."""
    strategies = current_strategies(today)
    if not strategies:
        return Action.objects.none()
    cutoff_day = today - datetime.timedelta(days=settings.STALE_ACTION_DAYS)
    # Local midnight, so "90 days" means calendar days in Manosque, not UTC hours.
    cutoff = timezone.make_aware(datetime.datetime.combine(cutoff_day, datetime.time.min))
    return (
        Action.objects.filter(axis__strategy__in=[s.pk for s in strategies])
        .exclude(status__in=CLOSED_STATUSES)
        .filter(Q(last_update_at__isnull=True) | Q(last_update_at__lt=cutoff))
    )


def reminders_claim_due(
    *, today: datetime.date, now: datetime.datetime | None = None
) -> tuple[DispatchReport, list[Claim]]:
    """Claim this week's reminders that no task holds; safe to run any number of times.

    Creates the rows of the organisations not reminded yet (and the coordinators' digest when
    it has something to say), takes over the rows whose task vanished (lock expired), and
    returns them to be enqueued. Sends nothing itself. Its queries do not grow with the number
    of organisations (one INSERT per new row aside).
    """
    now = now or timezone.now()
    week = week_start(today)
    organisations = _organisations_carrying(stale_actions(today=today))
    contacts = _partner_contacts([org.pk for org in organisations])
    # The digest's row has no organisation: its key here is None.
    rows = {row.organisation_id: row for row in ReminderSent.objects.filter(week_start=week)}
    counts: dict[str, int] = defaultdict(int)
    claims: list[Claim] = []
    for organisation in organisations:
        if organisation.pk in rows:
            continue  # counted below with the rest of the week's rows
        if not contacts.get(organisation.pk):
            counts["without_contact"] += 1
            continue
        claim = _create(organisation, week, now)
        if claim is None:
            counts["in_progress"] += 1  # a concurrent run created it a moment ago
        else:
            claims.append(claim)
    if None not in rows and _digest_due(uncovered=counts["without_contact"] > 0):
        claim = _create(None, week, now)
        if claim is None:
            counts["in_progress"] += 1
        else:
            claims.append(claim)
    # Every row of the week, also of organisations that no longer carry stale actions: an
    # abandoned row must still end (its task finds nothing to send and removes it).
    for row in rows.values():
        if row.status in _OPEN:
            claim = _take_over(row, now)
            if claim is None:
                counts["in_progress"] += 1
            else:
                claims.append(claim)
        else:
            counts[row.status] += 1
    report = DispatchReport(
        queued=len(claims),
        in_progress=counts["in_progress"],
        sent=counts[ReminderStatus.SENT],
        failed=counts[ReminderStatus.FAILED],
        without_contact=counts["without_contact"],
    )
    logger.info("Stale action reminders for the week of %s: %s", week, report.as_dict())
    return report, claims


def _digest_due(*, uncovered: bool) -> bool:
    """Whether the coordinators' digest has readers and something to tell them."""
    if not coordinators():
        return False
    return uncovered or _never_logged_in().exists()


def _create(
    organisation: Organisation | None, week: datetime.date, now: datetime.datetime
) -> Claim | None:
    """The row of `organisation`'s reminder, or of the coordinators' digest (None)."""
    task_id = str(uuid.uuid4())
    try:
        with transaction.atomic():  # a savepoint when the caller is in a transaction
            row = ReminderSent.objects.create(
                kind=ReminderKind.ORGANISATION if organisation else ReminderKind.DIGEST,
                organisation=organisation,
                week_start=week,
                action_count=0,
                task_id=task_id,
                locked_until=now + LOCK,
            )
    except IntegrityError:
        return None
    return Claim(row.pk, task_id)


def _take_over(row: ReminderSent, now: datetime.datetime) -> Claim | None:
    """Give an open row whose lock expired to a new task; None while its task may still run."""
    task_id = str(uuid.uuid4())
    taken = (
        ReminderSent.objects.filter(pk=row.pk, status__in=_OPEN)
        .filter(Q(locked_until__isnull=True) | Q(locked_until__lt=now))
        .update(task_id=task_id, locked_until=now + LOCK)
    )
    return Claim(row.pk, task_id) if taken else None


def reminders_reopen_failed(*, week: datetime.date) -> int:
    """Give the reminders of `week` that were given up a new series of attempts (an operator
    who fixed the mail server); the next weekly check, or `send_reminders`, sends them."""
    return ReminderSent.objects.filter(week_start=week, status=ReminderStatus.FAILED).update(
        status=ReminderStatus.PENDING, attempts=0, locked_until=None, task_id=""
    )


def reminder_send(*, reminder_id: int, task_id: str, today: datetime.date) -> SendResult:
    """Send one claimed reminder, outside any transaction, and record how it went."""
    row = _claim(reminder_id, task_id)
    if row is None:
        return SendResult(Outcome.NOT_MINE)
    if row.attempts > MAX_ATTEMPTS:  # the last attempt died without recording its failure
        _finish(row, task_id, status=ReminderStatus.FAILED, attempts=F("attempts") - 1)
        logger.error("Stale action reminder %s: given up after %s attempts", row.pk, MAX_ATTEMPTS)
        return SendResult(Outcome.FAILED)
    if row.organisation is None:
        digest = coordinator_digest(today=today)
        recipients = [user.email for user in digest.coordinators]
        action_count = sum(len(actions) for _, actions in digest.uncovered)
        if digest.empty or not recipients:
            ReminderSent.objects.filter(pk=row.pk, task_id=task_id).delete()
            return SendResult(Outcome.NOTHING_TO_SEND)
        message = _digest_message(digest, week=row.week_start)
    else:
        actions = list(
            least_recently_updated(stale_actions(today=today).carried_by(row.organisation.pk))
        )
        recipients = _partner_contacts([row.organisation.pk]).get(row.organisation.pk, [])
        action_count = len(actions)
        if not actions or not recipients:
            # Updated or unstaffed since the claim: forget the row, a later run may claim it.
            ReminderSent.objects.filter(pk=row.pk, task_id=task_id).delete()
            return SendResult(Outcome.NOTHING_TO_SEND)
        message = _message(row.organisation, actions, recipients, coordinators())
    try:
        message.send()
    except Exception as exc:  # SMTP refusal, timeout, soft time limit...: all worth a retry
        return _failed(row, task_id, exc)
    _finish(
        row,
        task_id,
        status=ReminderStatus.SENT,
        sent_at=timezone.now(),
        action_count=action_count,
        last_error="",
    )
    return SendResult(Outcome.SENT, recipients=len(recipients))


def _claim(reminder_id: int, task_id: str) -> ReminderSent | None:
    """Mark the row "sending" for this task, in one UPDATE only one task can win."""
    now = timezone.now()
    mine = Q(task_id=task_id) | Q(locked_until__isnull=True) | Q(locked_until__lt=now)
    interrupted = (
        ReminderSent.objects.filter(pk=reminder_id, status=ReminderStatus.SENDING)
        .filter(mine)
        .exists()
    )
    claimed = (
        ReminderSent.objects.filter(pk=reminder_id, status__in=_OPEN)
        .filter(mine)
        .update(
            status=ReminderStatus.SENDING,
            attempts=F("attempts") + 1,
            task_id=task_id,
            locked_until=now + LOCK,
        )
    )
    if not claimed:
        return None
    if interrupted:
        logger.warning(
            "Stale action reminder %s: an earlier attempt was interrupted while sending; "
            "sending again (the organisation may receive it twice)",
            reminder_id,
        )
    return ReminderSent.objects.select_related("organisation").get(pk=reminder_id)


def _failed(row: ReminderSent, task_id: str, exc: Exception) -> SendResult:
    # A mail server's reply is foreign text: no control characters into the database.
    error = strip_invisible(f"{type(exc).__name__}: {exc}")[:300]
    if row.attempts >= MAX_ATTEMPTS:
        _finish(row, task_id, status=ReminderStatus.FAILED, last_error=error)
        logger.error(
            "Stale action reminder to organisation %s: given up after %s attempts (%s)",
            row.organisation_id,
            row.attempts,
            error,
        )
        return SendResult(Outcome.FAILED)
    delay = retry_delay(row.attempts)
    # Locked to this task for the delay and then some, for the Celery retry (same task id) to
    # take it; if that retry never comes, a later weekly-check run hands it to a new task.
    _finish(
        row,
        task_id,
        status=ReminderStatus.PENDING,
        last_error=error,
        locked_until=timezone.now() + datetime.timedelta(seconds=delay) + LOCK,
    )
    logger.warning(
        "Stale action reminder to organisation %s failed (attempt %s), next in %s s: %s",
        row.organisation_id,
        row.attempts,
        delay,
        error,
    )
    return SendResult(Outcome.RETRY, retry_in=delay)


def retry_delay(attempts: int) -> int:
    """Seconds before the next attempt, after `attempts` failed ones: doubled each time."""
    return int(settings.EMAIL_RETRY_DELAY * 2 ** (attempts - 1))


def _finish(row: ReminderSent, task_id: str, **fields: object) -> None:
    """Record the attempt's end, unless the row was given to another task in the meantime."""
    fields.setdefault("locked_until", None)
    updated = ReminderSent.objects.filter(pk=row.pk, task_id=task_id).update(**fields)
    if not updated:
        logger.warning("Stale action reminder %s: taken over by another task meanwhile", row.pk)


def _organisations_carrying(stale: ActionQuerySet) -> list[Organisation]:
    """The organisations that lead or contribute to at least one of `stale`, in one query."""
    contributing = Action.contributors.through.objects.filter(action__in=stale).values(
        "organisation_id"
    )
    return list(
        Organisation.objects.filter(
            Q(pk__in=stale.values("lead_organisation_id")) | Q(pk__in=contributing)
        ).order_by("name")
    )


def _partner_contacts(organisation_ids: list[int]) -> dict[int, list[str]]:
    """Organisation id -> e-mail addresses of its active partner referents."""
    rows = (
        User.objects.filter(role=Role.PARTNER, is_active=True, organisation_id__in=organisation_ids)
        .exclude(email="")
        .order_by("pk")
        .values_list("organisation_id", "email")
    )
    contacts: dict[int, list[str]] = defaultdict(list)
    for organisation_id, email in rows:
        if email not in contacts[organisation_id]:
            contacts[organisation_id].append(email)
    return contacts


def coordinators() -> list[User]:
    """The active coordinators with an address: whom the reminders name as contact, and the
    readers of the digest."""
    return list(
        User.objects.filter(role=Role.COORDINATOR, is_active=True)
        .exclude(email="")
        .order_by("last_name", "first_name", "pk")
    )


def _never_logged_in() -> QuerySet[User]:
    return User.objects.filter(role=Role.PARTNER, is_active=True, last_login__isnull=True)


@dataclass(frozen=True)
class CoordinatorDigest:
    """What the reminders do not reach, for the coordinators."""

    # Organisations carrying stale actions but no partner contact, with those actions.
    uncovered: list[tuple[Organisation, list[Action]]]
    # Active partner contacts who never logged in.
    never_logged_in: list[User]
    coordinators: list[User]

    @property
    def empty(self) -> bool:
        return not self.uncovered and not self.never_logged_in


@dataclass(frozen=True)
class OrganisationPreview:
    organisation: Organisation
    recipients: list[str]  # empty: no contact, the digest names it
    actions: list[Action]
    status: str | None  # this week's row, if any (ReminderStatus)


@dataclass(frozen=True)
class Preview:
    """What this week's reminders would send, read without writing anything."""

    week: datetime.date
    organisations: list[OrganisationPreview]
    digest: CoordinatorDigest
    digest_status: str | None


def coordinator_digest(*, today: datetime.date) -> CoordinatorDigest:
    """The digest as of `today`, in a number of queries that does not grow with the
    organisations."""
    stale = stale_actions(today=today)
    organisations = _organisations_carrying(stale)
    contacts = _partner_contacts([org.pk for org in organisations])
    return _digest(stale, organisations, contacts)


def _digest(
    stale: ActionQuerySet, organisations: list[Organisation], contacts: dict[int, list[str]]
) -> CoordinatorDigest:
    uncovered = [org for org in organisations if not contacts.get(org.pk)]
    by_organisation = _stale_by_organisation(stale, [org.pk for org in uncovered])
    return CoordinatorDigest(
        uncovered=[(org, by_organisation[org.pk]) for org in uncovered],
        never_logged_in=list(
            _never_logged_in()
            .select_related("organisation")
            .order_by("organisation__name", "last_name", "first_name", "pk")
        ),
        coordinators=coordinators(),
    )


def reminders_preview(*, today: datetime.date) -> Preview:
    """Who would get which actions this week, and the digest: reads only."""
    week = week_start(today)
    stale = stale_actions(today=today)
    organisations = _organisations_carrying(stale)
    contacts = _partner_contacts([org.pk for org in organisations])
    by_organisation = _stale_by_organisation(stale, [org.pk for org in organisations])
    statuses: dict[int | None, str] = dict(
        ReminderSent.objects.filter(week_start=week).values_list("organisation_id", "status")
    )
    return Preview(
        week=week,
        organisations=[
            OrganisationPreview(
                organisation=org,
                recipients=contacts.get(org.pk, []),
                actions=by_organisation[org.pk],
                status=statuses.get(org.pk),
            )
            for org in organisations
        ],
        digest=_digest(stale, organisations, contacts),
        digest_status=statuses.get(None),
    )


def _stale_by_organisation(
    stale: ActionQuerySet, organisation_ids: list[int]
) -> dict[int, list[Action]]:
    """Organisation id -> the stale actions it leads or contributes to, least recently updated
    first: two queries, whatever the number of organisations."""
    carried: dict[int, list[Action]] = defaultdict(list)
    if not organisation_ids:
        return carried
    contributing = ActionContributor.objects.filter(
        action__in=stale, organisation_id__in=organisation_ids
    ).values_list("action_id", "organisation_id")
    contributors: dict[int, list[int]] = defaultdict(list)
    for action_id, organisation_id in contributing:
        contributors[action_id].append(organisation_id)
    wanted: set[int | None] = set(organisation_ids)
    actions = least_recently_updated(
        stale.filter(Q(lead_organisation_id__in=organisation_ids) | Q(pk__in=list(contributors)))
    )
    for action in actions:
        carriers = {action.lead_organisation_id, *contributors[action.pk]} & wanted
        for carrier in carriers:
            if carrier is not None:
                carried[carrier].append(action)
    return carried


def _items(actions: list[Action], site_url: str) -> list[dict[str, object]]:
    return [
        {
            "code": action.code,
            "title": action.title,
            "last_update_at": action.last_update_at,
            "url": site_url + reverse("actions:detail", args=[action.pk]),
        }
        for action in actions
    ]


def _contacts(people: list[User]) -> list[dict[str, str]]:
    return [{"name": user.get_full_name() or user.username, "email": user.email} for user in people]


def _message(
    organisation: Organisation,
    actions: list[Action],
    recipients: list[str],
    contacts: list[User],
) -> EmailMultiAlternatives:
    count = len(actions)
    noun = "action" if count == 1 else "actions"
    subject = f"[{settings.SITE_NAME}] {count} {noun} à mettre à jour"
    site_url = settings.SITE_URL.rstrip("/")
    context = {
        "SITE_NAME": settings.SITE_NAME,
        "site_url": site_url,
        "organisation": organisation,
        "count": count,
        "stale_days": settings.STALE_ACTION_DAYS,
        "items": _items(actions, site_url),
        "contacts": _contacts(contacts),
    }
    # French whatever language the caller (a worker, a request in English) has active.
    with translation.override("fr"):
        text = render_to_string("actions/email/stale_reminder.txt", context)
        html = render_to_string("actions/email/stale_reminder.html", context)
    # A reply reaches the coordination rather than an unread sender address.
    reply_to = [user.email for user in contacts]
    message = EmailMultiAlternatives(subject=subject, body=text, to=recipients, reply_to=reply_to)
    message.attach_alternative(html, "text/html")
    return message


def _digest_message(digest: CoordinatorDigest, *, week: datetime.date) -> EmailMultiAlternatives:
    site_url = settings.SITE_URL.rstrip("/")
    uncovered_count = len(digest.uncovered)
    silent_count = len(digest.never_logged_in)
    subject = (
        f"[{settings.SITE_NAME}] Relances de la semaine : "
        f"{uncovered_count} organisation{'s' if uncovered_count > 1 else ''} sans contact, "
        f"{silent_count} référent{'s' if silent_count > 1 else ''} jamais connecté"
        f"{'s' if silent_count > 1 else ''}"
    )
    context = {
        "SITE_NAME": settings.SITE_NAME,
        "site_url": site_url,
        "week": week,
        "stale_days": settings.STALE_ACTION_DAYS,
        "uncovered": [
            {"organisation": org, "items": _items(actions, site_url)}
            for org, actions in digest.uncovered
        ],
        "never_logged_in": [
            {
                "name": user.get_full_name() or user.username,
                "email": user.email,
                "organisation": user.organisation.name if user.organisation else "",
                "date_joined": user.date_joined,
            }
            for user in digest.never_logged_in
        ],
    }
    with translation.override("fr"):
        text = render_to_string("actions/email/coordinator_digest.txt", context)
        html = render_to_string("actions/email/coordinator_digest.html", context)
    message = EmailMultiAlternatives(
        subject=subject, body=text, to=[user.email for user in digest.coordinators]
    )
    message.attach_alternative(html, "text/html")
    return message
