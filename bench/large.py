"""The département-sized dataset, grown beside the demo in bulk (PostgreSQL COPY).

A deployment for a département holds many councils: their strategies, their partner
organisations and people, and years of status updates, all in the same tables as the demo's.
`grow` adds them to the benchmark database in well under a minute at full size, seeded so that
every run builds the same rows. Dates are spread over the last `years` years up to today, as a
running deployment's are: the newest updates of other councils sit in front of the demo's in
every index read by date, which is what makes a page grow with the deployment.

Needs Django set up on PostgreSQL (bench/run.py). Raw COPY, not the services: 400,000 rows
through the ORM would take the whole bench's time. The column lists follow the models; a new
non-null column without a default makes COPY fail loudly, never build a wrong dataset.
"""

from __future__ import annotations

import datetime
import random
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

PREFIX = "Partenaire départemental"  # organisation names, so their rows can be found again
STRATEGY_SLUG = "commune-{:03d}-2022-2026"
# Older than Manosque's 2023: the dashboard keeps showing the demo strategy as current.
START_YEAR, END_YEAR = 2022, 2026
AXES_PER_STRATEGY = 4
KINDS: tuple[str, ...] = (
    "commune",
    "state",
    "police",
    "justice",
    "education",
    "social_landlord",
    "health",
)
KINDS += ("association", "association", "transport", "other")
_WORDS = (
    "prévention tranquillité médiation jeunesse parentalité sécurité routière quartier "
    "décrochage scolaire violences intrafamiliales vidéoprotection addictions harcèlement "
    "citoyenneté sensibilisation accompagnement insertion commerces transports nocturne"
)
WORDS = _WORDS.split()
SEED = 9


@dataclass(frozen=True)
class Size:
    """How big the département is; `scaled` keeps the shape (40 actions a strategy)."""

    strategies: int = 100
    actions_per_strategy: int = 40
    organisations: int = 300
    partners: int = 2000
    updates: int = 400_000
    years: int = 4
    long_sheet_updates: int = 300  # the demo sheet's history, for the "long sheet" page
    stopped_share: float = 0.25  # actions whose updates stopped before today (some go stale)
    departmental_share: float = 0.05  # actions a demo partner also contributes to

    def scaled(self, factor: float) -> Size:
        def part(value: int) -> int:
            return max(1, round(value * factor))

        return replace(
            self,
            strategies=part(self.strategies),
            organisations=max(3, part(self.organisations)),
            partners=part(self.partners),
            updates=part(self.updates),
        )

    @property
    def actions(self) -> int:
        return self.strategies * self.actions_per_strategy


@dataclass(frozen=True)
class Grown:
    """What `grow` added, for the report."""

    strategies: int
    actions: int
    organisations: int
    partners: int
    updates: int
    first: datetime.datetime
    last: datetime.datetime


def grow(size: Size, *, sheet_pk: int, departmental: Sequence[int], seed: int = SEED) -> Grown:
    """Add `size`'s councils beside the demo; give the demo action `sheet_pk` a long history.

    `departmental`: demo organisations (the police, the département's services) that also
    contribute to a share of the other councils' actions, as they do in a real département.
    """
    rng = random.Random(seed)
    now = timezone.now()
    start = now - datetime.timedelta(days=365 * size.years)
    with transaction.atomic():
        organisations = _organisations(size)
        partners = _partners(size, organisations, now)
        axes = _strategies_and_axes(size)
        plan = _plan(size, rng, axes, organisations, start, now)
        action_ids = _actions(plan, now)
        _contributors(rng, plan, action_ids, organisations, departmental, size)
        updates = _updates(rng, plan, action_ids, partners)
        updates += _long_sheet(rng, sheet_pk, size.long_sheet_updates, start)
    return Grown(
        strategies=size.strategies,
        actions=len(action_ids),
        organisations=len(organisations),
        partners=sum(len(people) for people in partners.values()),
        updates=updates,
        first=start,
        last=now,
    )


def _copy(table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    with connection.cursor() as cursor:
        statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
        with cursor.cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row(row)


def _ids(query: str, params: Sequence[Any] = ()) -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        return [row[0] for row in cursor.fetchall()]


def _table(label: str) -> str:
    from django.apps import apps

    return str(apps.get_model(label)._meta.db_table)


def _organisations(size: Size) -> list[int]:
    names = [f"{PREFIX} {n:03d}" for n in range(1, size.organisations + 1)]
    rows = [(name, f"PD{n:03d}", KINDS[n % len(KINDS)]) for n, name in enumerate(names, 1)]
    table = _table("governance.Organisation")
    _copy(table, ("name", "short_name", "kind"), rows)
    return _ids(f"SELECT id FROM {table} WHERE name LIKE %s ORDER BY name", [f"{PREFIX} %"])


def _partners(
    size: Size, organisations: Sequence[int], now: datetime.datetime
) -> dict[int, list[int]]:
    """Partner accounts spread over the organisations; returns their ids by organisation."""
    table = _table("clspdr.User")
    rows = []
    for n in range(1, size.partners + 1):
        organisation = organisations[n % len(organisations)]
        username = f"partenaire-{n:04d}"
        rows.append(
            ("!bench", False, username, "Référent", f"n°{n}", f"{username}@example.org",
             False, True, now, "partner", organisation, "Référent prévention")
        )  # fmt: skip
    columns: tuple[str, ...] = (
        "password",
        "is_superuser",
        "username",
        "first_name",
        "last_name",
        "email",
    )
    columns += ("is_staff", "is_active", "date_joined", "role", "organisation_id", "job_title")
    _copy(table, columns, rows)
    by_organisation: dict[int, list[int]] = defaultdict(list)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id, organisation_id FROM {table} WHERE username LIKE 'partenaire-%%'"
        )
        for user_id, organisation_id in cursor.fetchall():
            by_organisation[organisation_id].append(user_id)
    return by_organisation


def _strategies_and_axes(size: Size) -> list[int]:
    """The councils' strategies and their axes; returns the axis ids in strategy order."""
    strategies = _table("axes.Strategy")
    rows = [
        (STRATEGY_SLUG.format(n), f"Stratégie locale de la commune {n:03d}", f"Commune {n:03d}",
         START_YEAR, END_YEAR, "", "")
        for n in range(1, size.strategies + 1)
    ]  # fmt: skip
    columns: tuple[str, ...] = (
        "slug",
        "title",
        "town",
        "start_year",
        "end_year",
        "preamble",
        "conclusion",
    )
    _copy(strategies, columns, rows)
    strategy_ids = _ids(
        f"SELECT id FROM {strategies} WHERE slug LIKE 'commune-%%-2022-2026' ORDER BY slug"
    )
    axes = _table("axes.Axis")
    _copy(
        axes,
        ("strategy_id", "number", "title", "priority_issue", "description"),
        [
            (strategy, number, f"Axe {number} : {WORDS[number]} et {WORDS[number + 4]}", "", "")
            for strategy in strategy_ids
            for number in range(1, AXES_PER_STRATEGY + 1)
        ],
    )
    return _ids(
        f"SELECT a.id FROM {axes} a JOIN {strategies} s ON s.id = a.strategy_id "
        "WHERE s.slug LIKE 'commune-%%-2022-2026' ORDER BY s.slug, a.number"
    )


@dataclass
class _Action:
    axis: int
    number: int
    lead: int
    title: str
    times: list[datetime.datetime]
    done: bool


def _plan(
    size: Size,
    rng: random.Random,
    axes: Sequence[int],
    organisations: Sequence[int],
    start: datetime.datetime,
    now: datetime.datetime,
) -> list[_Action]:
    """Each action's lead and the dates of its updates: `size.updates` in all, spread over
    the years; a share of actions stopped being updated some time ago."""
    per_axis = size.actions_per_strategy // AXES_PER_STRATEGY
    total = len(axes) * per_axis
    counts = _split(rng, size.updates, total)
    span = (now - start).total_seconds()
    plan = []
    for index in range(total):
        first = rng.uniform(0, span / 2)
        last = span if rng.random() >= size.stopped_share else rng.uniform(first, span)
        times = sorted(
            start + datetime.timedelta(seconds=rng.uniform(first, last))
            for _ in range(counts[index])
        )
        words = rng.sample(WORDS, 3)
        plan.append(
            _Action(
                axis=axes[index // per_axis],
                number=index % per_axis + 1,
                lead=rng.choice(organisations),
                title=f"Action {words[0]} : {words[1]} et {words[2]}",
                times=times,
                done=last < span and rng.random() < 0.4,
            )
        )
    return plan


def _split(rng: random.Random, total: int, parts: int) -> list[int]:
    """`total` spread over `parts` unevenly (from 0.4× to 1.6× the mean), summing exactly."""
    weights = [rng.uniform(0.4, 1.6) for _ in range(parts)]
    scale = total / sum(weights)
    counts = [int(weight * scale) for weight in weights]
    for index in range(total - sum(counts)):
        counts[index % parts] += 1
    return counts


def _progress(index: int, count: int) -> int:
    return min(95, 5 * (1 + 19 * (index + 1) // max(count, 1)))


def _final(action: _Action) -> tuple[str, int]:
    if not action.times:
        return "todo", 0
    if action.done:
        return "done", 100
    return "in_progress", _progress(len(action.times) - 1, len(action.times))


def _actions(plan: Sequence[_Action], now: datetime.datetime) -> list[int]:
    table = _table("actions.Action")
    rows = []
    for action in plan:
        status, progress = _final(action)
        rows.append(
            (action.axis, str(action.number), action.number, action.title,
             f"Description de l'{action.title.lower()}.", action.lead, "Habitants", "Commune",
             "", "", "medium", "", datetime.date(START_YEAR, 1, 1), datetime.date(END_YEAR, 12, 31),
             status, progress, len(action.times) + 1, action.times[-1] if action.times else None,
             now)
        )  # fmt: skip
    columns: tuple[str, ...] = (
        "axis_id",
        "number",
        "position",
        "title",
        "description",
        "lead_organisation_id",
    )
    columns += ("target_public", "territory", "objectives", "means", "priority", "indicators")
    columns += ("start_date", "end_date", "status", "progress", "version", "last_update_at")
    columns += ("created_at",)
    _copy(table, columns, rows)
    axes = sorted({action.axis for action in plan})
    return _ids(
        f"SELECT id FROM {table} WHERE axis_id = ANY(%s) ORDER BY axis_id, position", [axes]
    )


def _contributors(
    rng: random.Random,
    plan: Sequence[_Action],
    action_ids: Sequence[int],
    organisations: Sequence[int],
    departmental: Sequence[int],
    size: Size,
) -> None:
    rows = []
    for action, action_id in zip(plan, action_ids, strict=True):
        chosen = {o for o in rng.sample(list(organisations), 3) if o != action.lead}
        chosen = set(list(chosen)[:2])
        chosen |= {o for o in departmental if rng.random() < size.departmental_share}
        rows += [(action_id, organisation) for organisation in sorted(chosen)]
    _copy(_table("actions.ActionContributor"), ("action_id", "organisation_id"), rows)


def _updates(
    rng: random.Random,
    plan: Sequence[_Action],
    action_ids: Sequence[int],
    partners: dict[int, list[int]],
) -> int:
    everyone = [user for people in partners.values() for user in people]
    rows: list[tuple[Any, ...]] = []
    for action, action_id in zip(plan, action_ids, strict=True):
        authors = partners.get(action.lead) or everyone
        previous = ("todo", 0)
        count = len(action.times)
        for index, created_at in enumerate(action.times):
            current = ("in_progress", _progress(index, count))
            if index == count - 1:
                current = _final(action)
            comment = _comment(rng, index) if rng.random() < 0.5 else ""
            rows.append(
                (action_id, rng.choice(authors), action.lead, created_at, *previous, *current,
                 comment)
            )  # fmt: skip
            previous = current
    _copy_updates(rows)
    return len(rows)


def _comment(rng: random.Random, index: int) -> str:
    return f"Point d'étape n°{index + 1} : {' '.join(rng.sample(WORDS, 6))}."


def _copy_updates(rows: Iterable[Sequence[Any]]) -> None:
    """Rows start with the action's id; each gets its action's strategy, which the "latest
    updates" of a strategy read from its own index (StatusUpdate.strategy)."""
    from actions.models import Action

    rows = list(rows)
    strategy_of = dict(
        Action.objects.filter(pk__in={row[0] for row in rows}).values_list(
            "pk", "axis__strategy_id"
        )
    )
    columns: tuple[str, ...] = ("action_id", "author_id", "author_organisation_id", "created_at")
    columns += ("previous_status", "previous_progress", "status", "progress", "comment")
    columns += ("strategy_id",)
    _copy(_table("actions.StatusUpdate"), columns, [(*row, strategy_of[row[0]]) for row in rows])


def _long_sheet(rng: random.Random, sheet_pk: int, count: int, start: datetime.datetime) -> int:
    """`count` more updates of the demo's sheet, before its own history, so that its current
    status, progress and last update stay what the demo shows."""
    from actions.models import Action, StatusUpdate

    action = Action.objects.get(pk=sheet_pk)
    first = StatusUpdate.objects.filter(action=action).order_by("created_at").first()
    if first is None:
        raise RuntimeError(f"the demo sheet {sheet_pk} has no history to extend")
    author, end = first.author_id, first.created_at
    span = max((end - start).total_seconds(), 1.0)
    times = sorted(start + datetime.timedelta(seconds=rng.uniform(0, span)) for _ in range(count))
    state = ("in_progress", action.progress)
    _copy_updates(
        (sheet_pk, author, action.lead_organisation_id, created_at, *state, *state,
         _comment(rng, index))
        for index, created_at in enumerate(times)
    )  # fmt: skip
    return count
