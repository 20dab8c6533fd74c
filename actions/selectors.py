"""Reads of the action plan used by several pages (home, dashboard, list, exports).

Each takes the caller's restricted queryset or user, so every read starts from
`Action.objects.visible_to(user)`: access is restricted at the source, before any filter.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from typing import TYPE_CHECKING, TypeVar

from django.db.models import F, OuterRef, QuerySet, Subquery, Sum
from django.utils import timezone

from actions.models import Action, ActionQuerySet, Funding, StatusUpdate

if TYPE_CHECKING:
    from axes.models import Strategy
    from clspdr.models import User

_Actions = TypeVar("_Actions", bound=QuerySet[Action])


def least_recently_updated(actions: _Actions) -> _Actions:
    """Never-updated actions first, then the longest without news."""
    return actions.select_related("axis", "lead_organisation").order_by(
        F("last_update_at").asc(nulls_first=True), "axis__number", "position", "number"
    )


def home_actions_for(user: User, *, strategy: Strategy | None = None) -> ActionQuerySet:
    """What a partner is expected to keep up to date: the actions its organisation leads or
    contributes to, plus any granted to it one by one — least recently updated on top."""
    actions = Action.objects.visible_to(user).updatable_by(user)
    if strategy is not None:
        actions = actions.filter(axis__strategy=strategy)
    return least_recently_updated(actions)


def recent_updates(user: User, strategy: Strategy, limit: int = 10) -> QuerySet[StatusUpdate]:
    """The last status updates of `strategy` that `user` may see, with who, for which
    organisation, on what. Read from the strategy's own range of an index (strategy, newest
    first): the cost does not grow with the other councils' history (docs/performance.md)."""
    return (
        StatusUpdate.objects.visible_to(user)
        .filter(strategy=strategy)
        .select_related("action__axis", "author", "author_organisation")
        .order_by("-created_at", "-pk")[:limit]
    )


def with_budget_total(actions: QuerySet[Action]) -> QuerySet[Action]:
    """Annotate `budget_total` (all years and funders) without a join that would duplicate rows."""
    totals = (
        Funding.objects.filter(action=OuterRef("pk"))
        .order_by()
        .values("action")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    return actions.annotate(budget_total=Subquery(totals))


def days_since_update(actions: Iterable[Action], today: datetime.date | None = None) -> None:
    """Set `days_since_update` (None when never updated) on each already-fetched action."""
    today = today or timezone.localdate()
    for action in actions:
        last = action.last_update_at
        action.days_since_update = (  # type: ignore[attr-defined]
            None if last is None else (today - timezone.localdate(last)).days
        )
