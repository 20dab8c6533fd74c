"""Helpers for query-count guards (a page's count must not grow with its rows): build many realistic actions, count queries.

A page passes the guard when it runs the same number of queries with 1 and with 50 actions:

    make_actions(1, axis)
    few = count_queries(lambda: client.get(url))
    make_actions(49, axis, **make_kwargs)
    with django_assert_num_queries(few):
        client.get(url)
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from actions.models import Action, Funding, Status, StatusUpdate, SubAction, SubList
from axes.models import Axis
from clspdr.models import User
from governance.models import Organisation
from tests.factories import ActionFactory, OrganisationFactory, UserFactory

# (status, progress) of the successive updates each action goes through
HISTORY = ((Status.IN_PROGRESS, 10), (Status.IN_PROGRESS, 40), (Status.POSTPONED, 40))


def make_actions(
    n: int,
    axis: Axis,
    *,
    lead: Organisation | None = None,
    contributors: Sequence[Organisation] | None = None,
    author: User | None = None,
    updates: int = 3,
    first_number: int | None = None,
    **fields: Any,
) -> list[Action]:
    """`n` actions of `axis`, each with a lead, contributors, `updates` status updates, a
    sub-list of two sub-actions and two fundings — what makes a page's queries grow per row."""
    lead = lead or OrganisationFactory.create(name="Pilote des tests")
    if contributors is None:
        contributors = [
            OrganisationFactory.create(name="Contributeur A"),
            OrganisationFactory.create(name="Contributeur B"),
        ]
    author = author or UserFactory.create(username="auteur-des-tests")
    start = first_number or _next_number(axis)
    created = []
    for offset in range(n):
        number = str(start + offset)
        action: Action = ActionFactory.create(
            axis=axis, number=number, title=f"Action générée {number}", lead_organisation=lead,
            start_date=datetime.date(2024, 1, 15), end_date=datetime.date(2026, 12, 31),
            **fields,
        )  # fmt: skip
        action.contributors.add(*contributors)
        _history(action, author, updates)
        sublist = SubList.objects.create(action=action, title=f"Points de l'action {number}")
        for position in (1, 2):
            SubAction.objects.create(
                sublist=sublist, position=position, number=str(position), title=f"Point {position}"
            )
        for year in (2024, 2025):
            Funding.objects.create(
                action=action, year=year, funder="Ville", amount=Decimal("1500.50")
            )
        created.append(action)
    return created


def _next_number(axis: Axis) -> int:
    numbers = [int(n) for n in axis.actions.values_list("number", flat=True) if n.isdigit()]
    return max(numbers, default=0) + 1


def _history(action: Action, author: User, updates: int) -> None:
    now = timezone.now()
    previous_status, previous_progress = Status.TODO, 0
    for index in range(updates):
        status, progress = HISTORY[index % len(HISTORY)]
        StatusUpdate.objects.create(
            action=action,
            strategy_id=action.axis.strategy_id,
            author=author,
            author_organisation=action.lead_organisation,
            created_at=now - datetime.timedelta(days=updates - index),
            previous_status=previous_status,
            previous_progress=previous_progress,
            status=status,
            progress=progress,
        )
        previous_status, previous_progress = status, progress
    if updates:
        Action.objects.filter(pk=action.pk).update(
            status=previous_status,
            progress=previous_progress,
            last_update_at=now - datetime.timedelta(days=1),
        )


def count_queries(func: Callable[[], Any]) -> int:
    with CaptureQueriesContext(connection) as context:
        func()
    return len(context.captured_queries)


def assert_constant_queries(
    client: Any,
    url: str,
    axis: Axis,
    django_assert_num_queries: Any,
    *,
    headers: dict[str, str] | None = None,
    **make_kwargs: Any,
) -> int:
    """GET `url` with 1 then 50 generated actions on `axis`: same number of queries.

    `make_kwargs` go to `make_actions` (so that the rows match the URL's filters).
    Returns the count, for the report. A first request warms the session, so the count is
    that of an ordinary page view.
    """
    make_actions(1, axis, **make_kwargs)
    client.get(url, headers=headers)
    few = count_queries(lambda: client.get(url, headers=headers))
    make_actions(49, axis, **make_kwargs)
    with django_assert_num_queries(few):
        response = client.get(url, headers=headers)
    assert response.status_code == 200
    print(f"\n{url} {headers or ''}: {few} queries with 1 and with 50 actions")
    return few


def add_councils(
    n: int, *, lead: Organisation | None = None, author: User | None = None
) -> list[Action]:
    """`n` other councils (a strategy of another town each, running now), each with an axis,
    an action led by `lead` (a new organisation by default) and status updates newer than
    anything else: what a département-sized deployment adds around a council's pages."""
    from axes.models import Strategy

    author = author or UserFactory.create()
    year = timezone.localdate().year
    created: list[Action] = []
    first = Strategy.objects.count()
    for index in range(first, first + n):
        strategy = Strategy.objects.create(
            slug=f"commune-{index}-{year}",
            title=f"Stratégie de la commune {index}",
            town=f"Commune {index}",
            # running, but older than the tests' own (2023-2027): never the one picked as current
            start_year=2020,
            end_year=year + 3,
        )
        axis = Axis.objects.create(strategy=strategy, number=1, title=f"Axe d'ailleurs {index}")
        organisation = lead or OrganisationFactory.create(name=f"Organisation d'ailleurs {index}")
        created.extend(
            make_actions(1, axis, lead=organisation, contributors=[], author=author, updates=2)
        )
    return created
