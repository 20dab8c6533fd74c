"""The action list (filters, htmx refresh, pagination) and its CSV/XLSX exports."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe
from django.views.decorators.vary import vary_on_headers

from actions import exports
from actions.filters import ActionFilterSet
from actions.models import Action
from clspdr.permissions import has_perm, require_perm

if TYPE_CHECKING:
    from django_htmx.middleware import HtmxDetails

    from clspdr.models import User

    class HtmxHttpRequest(HttpRequest):
        htmx: HtmxDetails


PAGE_SIZE = 50
_FILTER_NAMES = ("axe", "statut", "organisation", "q", "mes_actions")


def _filterset(request: HttpRequest, user: User) -> ActionFilterSet:
    return ActionFilterSet(request.GET, queryset=Action.objects.visible_to(user), request=request)


def _wants_fragment(request: HtmxHttpRequest) -> bool:
    # A history restore after a cache miss needs the whole page, not the fragment.
    return bool(request.htmx) and not request.htmx.history_restore_request


@login_required
@require_safe
@vary_on_headers("HX-Request")
def action_list(request: HtmxHttpRequest) -> HttpResponse:
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
    }
    if _wants_fragment(request):
        return render(request, "actions/list.html#results", context)
    context["can_update"] = has_perm(user, "action.update_status")
    return render(request, "actions/list.html", context)


@login_required
@require_safe
def export_csv(request: HttpRequest) -> HttpResponse:
    user = require_perm(request, "plan.export")
    return exports.csv_response(_filterset(request, user).qs)


@login_required
@require_safe
def export_xlsx(request: HttpRequest) -> HttpResponse:
    user = require_perm(request, "plan.export")
    return exports.xlsx_response(_filterset(request, user).qs)
