"""How far a strategy and its axes have progressed.

Progress rolls up from the actions: an axis is the mean progress of its
actions, the strategy the mean over all its actions; abandoned actions count in neither,
so dropping an action does not drag the plan down.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.db.models import Count, Q, Sum

from actions.models import Status
from axes.models import Axis, Strategy

if TYPE_CHECKING:
    from django.db.models import QuerySet

    from actions.models import Action

_COUNTED = ~Q(status=Status.ABANDONED)


@dataclass(frozen=True)
class StatusCount:
    status: str
    label: str
    count: int


@dataclass(frozen=True)
class Progress:
    """Progress of a set of actions: `percent` is None when no action counts."""

    counted: int = 0
    progress_sum: int = 0
    by_status: dict[str, int] = field(default_factory=dict)

    @property
    def percent(self) -> float | None:
        return self.progress_sum / self.counted if self.counted else None

    @property
    def total(self) -> int:
        return sum(self.by_status.values())

    @property
    def status_counts(self) -> list[StatusCount]:
        """Non-zero counts, in workflow order, ready for badges."""
        return [
            StatusCount(status.value, str(status.label), self.by_status[status.value])
            for status in Status
            if self.by_status.get(status.value)
        ]

    def __add__(self, other: Progress) -> Progress:
        merged = dict(self.by_status)
        for status, count in other.by_status.items():
            merged[status] = merged.get(status, 0) + count
        return Progress(
            self.counted + other.counted, self.progress_sum + other.progress_sum, merged
        )


@dataclass(frozen=True)
class AxisProgress:
    axis: Axis
    progress: Progress


@dataclass(frozen=True)
class StrategyProgress:
    strategy: Strategy
    axes: list[AxisProgress]
    progress: Progress


def progress_by_axis(actions: QuerySet[Action]) -> dict[int, Progress]:
    """One aggregate query: counts per status and progress sums, grouped by axis."""
    per_status = {f"n_{status}": Count("pk", filter=Q(status=status)) for status in Status.values}
    rows = (
        actions.order_by()  # the model ordering would leak into GROUP BY
        .values("axis_id")
        .annotate(
            counted=Count("pk", filter=_COUNTED),
            progress_sum=Sum("progress", filter=_COUNTED),
            **per_status,
        )
    )
    return {row["axis_id"]: _progress(row) for row in rows}


def _progress(row: dict[str, Any]) -> Progress:
    return Progress(
        counted=row["counted"],
        progress_sum=row["progress_sum"] or 0,
        by_status={status: row[f"n_{status}"] for status in Status.values},
    )


def strategy_progress(strategy: Strategy, *, actions: QuerySet[Action]) -> StrategyProgress:
    """Every axis of `strategy` with its progress, and the strategy's: two queries in all.

    `actions` is the caller's restricted queryset (`Action.objects.visible_to(user)`).
    """
    stats = progress_by_axis(actions.filter(axis__strategy=strategy))
    axes = [
        AxisProgress(axis, stats.get(axis.pk, Progress()))
        for axis in Axis.objects.filter(strategy=strategy)
    ]
    total = sum((a.progress for a in axes), Progress())
    return StrategyProgress(strategy, axes, total)


def axis_progress(axis: Axis, *, actions: QuerySet[Action]) -> Progress:
    return progress_by_axis(actions.filter(axis=axis)).get(axis.pk, Progress())
