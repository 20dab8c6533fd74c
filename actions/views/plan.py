"""The action list (filters, htmx refresh, pagination) and its CSV/XLSX exports."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.views.decorators.http import require_safe
from django.views.decorators.vary import vary_on_headers

from actions import exports
from actions.filters import ActionFilterSet
from actions.models import Action
from clspdr.http import AuthenticatedHttpRequest, wants_fragment
from clspdr.permissions import has_perm, require_perm

if TYPE_CHECKING:
    from clspdr.models import User


PAGE_SIZE = 50
_FILTER_NAMES = ("axe", "statut", "organisation", "q", "mes_actions")


def _filterset(request: AuthenticatedHttpRequest, user: User) -> ActionFilterSet:
    return ActionFilterSet(
        request.GET, queryset=Action.objects.visible_to(user).in_plan_order(), request=request
    )


@login_required
@require_safe
@vary_on_headers("HX-Request")
def action_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    user = require_perm(request, "plan.view")
    filterset = _filterset(request, user)
    actions = filterset.qs.select_related("axis", "lead_organisation").prefetch_related(
        "contributors"
    )
    page = Paginator(actions, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "filterset": filterset,
        "strategy": filterset.strategy,
        "page": page,
        "filtered": any(request.GET.get(name) for name in _FILTER_NAMES),
        # A page link replaced by htmx is gone with the old page: the new table takes the focus.
        "focus_table": request.htmx.trigger in ("page-prev", "page-next"),
    }
    if wants_fragment(request):
        # The results, and the filters' "Effacer les filtres" for the out-of-band swap.
        html = render_to_string("actions/list.html#results", context, request)
        html += render_to_string("actions/list.html#clear-filters", context, request)
        return HttpResponse(html)
    context["can_update"] = has_perm(user, "action.update_status")
    return render(request, "actions/list.html", context)


def _export(
    request: AuthenticatedHttpRequest,
    respond: Callable[[QuerySet[Action], Sequence[str]], HttpResponse],
) -> HttpResponse:
    user = require_perm(request, "plan.export")
    filterset = _filterset(request, user)
    if not filterset.is_valid():
        # Ignoring the bad filter would silently export the whole plan instead.
        context = {"filterset": filterset}
        return render(request, "actions/export_refused.html", context, status=400)
    return respond(filterset.qs, exports.filter_names(filterset))


@login_required
@require_safe
def export_csv(request: AuthenticatedHttpRequest) -> HttpResponse:
    return _export(request, exports.csv_response)


@login_required
@require_safe
def export_xlsx(request: AuthenticatedHttpRequest) -> HttpResponse:
    return _export(request, exports.xlsx_response)
