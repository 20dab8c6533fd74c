"""The weekly reminder of stale actions, sent to the partner organisations that carry them.

An action is stale when it belongs to the current strategy, is neither done nor abandoned, and
has had no update for more than `STALE_ACTION_DAYS` days (or never). Each organisation that
leads or contributes to stale actions gets one e-mail a week, addressed to its active partner
contacts, listing those actions with a link to their sheet. Nothing nominative goes in it.
"""

from __future__ import annotations

import datetime
import logging
from collections import defaultdict
from dataclasses import asdict, dataclass
from enum import Enum

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from actions.models import Action, ActionQuerySet, ReminderSent, Status
from actions.selectors import least_recently_updated
from axes.models import Strategy
from axes.selectors import pick_current
from clspdr.models import Role, User
from governance.models import Organisation

logger = logging.getLogger(__name__)

CLOSED_STATUSES = (Status.DONE, Status.ABANDONED)


@dataclass(frozen=True)
class ReminderReport:
    """What one run did; `organisations` and `emails` are equal (one e-mail per organisation)
    but both are reported so that a change of that rule shows in the logs."""

    organisations: int = 0  # reminded by this run
    emails: int = 0
    recipients: int = 0
    skipped: int = 0  # already reminded this week (by an earlier or a concurrent run)
    without_contact: int = 0  # carries stale actions but has no partner contact with an e-mail
    failed: int = 0  # sending failed: nothing recorded, the next run tries again

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


class _Outcome(Enum):
    SENT = "sent"
    SKIPPED = "skipped"
    FAILED = "failed"


def week_start(day: datetime.date) -> datetime.date:
    """Monday of `day`'s ISO week: the key that makes the reminder weekly."""
    return day - datetime.timedelta(days=day.weekday())


def stale_actions(*, today: datetime.date) -> ActionQuerySet:
    """Open actions of the current strategy without an update for more than STALE_ACTION_DAYS."""
    strategy = pick_current(list(Strategy.objects.all()), today.year)
    if strategy is None:
        return Action.objects.none()
    cutoff_day = today - datetime.timedelta(days=settings.STALE_ACTION_DAYS)
    # Local midnight, so "90 days" means calendar days in Manosque, not UTC hours.
    cutoff = timezone.make_aware(datetime.datetime.combine(cutoff_day, datetime.time.min))
    return (
        Action.objects.filter(axis__strategy=strategy)
        .exclude(status__in=CLOSED_STATUSES)
        .filter(Q(last_update_at__isnull=True) | Q(last_update_at__lt=cutoff))
    )


def reminders_send_stale(*, today: datetime.date | None = None) -> ReminderReport:
    """Send this week's reminders that are not sent yet; safe to run any number of times."""
    today = today or timezone.localdate()
    week = week_start(today)
    stale = stale_actions(today=today)
    organisations = _organisations_carrying(stale)
    contacts = _partner_contacts([org.pk for org in organisations])
    already = set(
        ReminderSent.objects.filter(week_start=week, organisation__in=organisations).values_list(
            "organisation_id", flat=True
        )
    )
    counts: dict[str, int] = defaultdict(int)
    for organisation in organisations:
        if organisation.pk in already:
            counts["skipped"] += 1
            continue
        recipients = contacts.get(organisation.pk, [])
        if not recipients:
            counts["without_contact"] += 1
            continue
        actions = list(least_recently_updated(stale.carried_by(organisation.pk)))
        outcome = _remind(organisation, actions, recipients, week=week)
        if outcome is _Outcome.SENT:
            counts["organisations"] += 1
            counts["emails"] += 1
            counts["recipients"] += len(recipients)
        else:
            counts[outcome.value] += 1
    report = ReminderReport(**counts)
    logger.info("Stale action reminders for the week of %s: %s", week, report.as_dict())
    return report


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


def _remind(
    organisation: Organisation,
    actions: list[Action],
    recipients: list[str],
    *,
    week: datetime.date,
) -> _Outcome:
    """Record and send one organisation's reminder, in its own transaction.

    The row is inserted first and the e-mail sent *inside* the transaction, just before it
    commits; the commit is what marks the reminder as sent. So:
    - sending fails -> the exception rolls the row back: not marked, the next run retries;
    - the process dies between sending and committing -> the row is lost and the next run
      sends once more: a rare duplicate, preferred to a reminder silently lost;
    - two runs at once -> the second INSERT waits on the unique index until the first
      commits, then fails with IntegrityError: skipped; if the first rolled back, the
      second goes on and sends. At most one e-mail either way.
    Sending after commit (`transaction.on_commit`) would do the opposite: a failed send
    would leave a row saying "sent" and the organisation would never be reminded that week.
    The cost is one row lock held during one SMTP exchange, for one organisation at a time.
    """
    message = _message(organisation, actions, recipients)
    try:
        with transaction.atomic():
            ReminderSent.objects.create(
                organisation=organisation, week_start=week, action_count=len(actions)
            )
            message.send()
    except IntegrityError:
        return _Outcome.SKIPPED
    except Exception:
        # One unreachable mailbox or SMTP hiccup must not deprive the other organisations.
        logger.exception("Stale action reminder to organisation %s failed", organisation.pk)
        return _Outcome.FAILED
    return _Outcome.SENT


def _message(
    organisation: Organisation, actions: list[Action], recipients: list[str]
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
        "items": [
            {
                "code": action.code,
                "title": action.title,
                "last_update_at": action.last_update_at,
                "url": site_url + reverse("actions:detail", args=[action.pk]),
            }
            for action in actions
        ],
    }
    # French whatever language the caller (a worker, a request in English) has active.
    with translation.override("fr"):
        text = render_to_string("actions/email/stale_reminder.txt", context)
        html = render_to_string("actions/email/stale_reminder.html", context)
    message = EmailMultiAlternatives(subject=subject, body=text, to=recipients)
    message.attach_alternative(html, "text/html")
    return message
