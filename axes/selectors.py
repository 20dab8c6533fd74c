"""Reads of the strategies: which one is current."""

from __future__ import annotations

from collections.abc import Sequence

from django.utils import timezone

from axes.models import Strategy


def pick_current(strategies: Sequence[Strategy], year: int | None = None) -> Strategy | None:
    """The strategy whose period contains `year` (today by default), else the latest one."""
    year = year or timezone.localdate().year
    running = [s for s in strategies if s.start_year <= year <= s.end_year]
    candidates = running or list(strategies)
    return max(candidates, key=lambda s: s.start_year, default=None)


def current_strategy() -> Strategy | None:
    return pick_current(list(Strategy.objects.all()))
