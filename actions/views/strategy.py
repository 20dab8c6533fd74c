"""The strategy dashboard (progress per axis) and the axis page."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_safe

from actions.models import Action
from actions.progress import axis_progress, strategy_progress
from actions.selectors import recent_updates
from axes.models import Axis, Strategy
from axes.selectors import pick_current
from clspdr.http import AuthenticatedHttpRequest
from clspdr.permissions import require_perm

if TYPE_CHECKING:
    from clspdr.models import User


def _render_strategy(
    request: AuthenticatedHttpRequest,
    user: User,
    strategy: Strategy | None,
    strategies: list[Strategy],
) -> HttpResponse:
    context: dict[str, object] = {"strategy": strategy, "strategies": strategies}
    if strategy is not None:
        actions = Action.objects.visible_to(user).filter(axis__strategy=strategy)
        context["progress"] = strategy_progress(strategy, actions=actions)
        context["updates"] = recent_updates(user, strategy)
        # Its council's other strategies (same town), not every council's of the deployment.
        context["others"] = [
            s for s in strategies if s.pk != strategy.pk and s.town == strategy.town
        ]
        context["is_current"] = strategy == pick_current(strategies)
    return render(request, "axes/dashboard.html", context)


@login_required
@require_safe
def dashboard(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The current strategy: the one running this year, else the latest."""
    user = require_perm(request, "plan.view")
    strategies = list(Strategy.objects.all())
    return _render_strategy(request, user, pick_current(strategies), strategies)


@login_required
@require_safe
def strategy_detail(request: AuthenticatedHttpRequest, slug: str) -> HttpResponse:
    user = require_perm(request, "plan.view")
    strategies = list(Strategy.objects.all())
    strategy = next((s for s in strategies if s.slug == slug), None)
    if strategy is None:
        raise Http404("Stratégie inconnue.")
    return _render_strategy(request, user, strategy, strategies)


@login_required
@require_safe
def axis_detail(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    user = require_perm(request, "plan.view")
    axis = get_object_or_404(Axis.objects.select_related("strategy"), pk=pk)
    actions = Action.objects.visible_to(user).filter(axis=axis)
    rows = actions.select_related("axis", "lead_organisation").prefetch_related(
        "contributors", "sublists__items"
    )
    context = {
        "axis": axis,
        "strategy": axis.strategy,
        "progress": axis_progress(axis, actions=actions),
        "bodies": axis.bodies.all(),
        "actions": rows,
    }
    return render(request, "axes/axis.html", context)
