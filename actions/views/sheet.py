"""The action sheet (fiche-action): reading it, updating its status, the coordinator's editor.

Every view fetches the action through `action_for_user` and writes through a service; the
status panel (status, progress, form, history) is one partial of `actions/detail.html`, used
for the first render and for the htmx answer to the form.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Prefetch, prefetch_related_objects
from django.forms import BaseForm
from django.http import HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils.formats import number_format
from django.views.decorators.http import require_http_methods, require_POST, require_safe
from django.views.decorators.vary import vary_on_headers

from actions import services
from actions.access import ActionAccess, action_for_user
from actions.forms import (
    ActionSheetForm,
    ActionStatusForm,
    BaseFundingFormSet,
    FundingFormSet,
    funding_initial,
)
from actions.models import (
    Action,
    CarrierChange,
    Funding,
    Priority,
    SheetChange,
    StatusUpdate,
    SubAction,
    SubList,
)
from actions.services import SHEET_FIELDS, ActionConflict, FundingLine
from clspdr.http import AuthenticatedHttpRequest, wants_fragment
from clspdr.templatetags.clspdr import frdate

PAGE = "actions/detail.html"
PANEL = "actions/detail.html#status-panel"
SUMMARY = "actions/detail.html#summary"


@dataclass
class FundingYear:
    year: int
    rows: list[Funding] = field(default_factory=list)
    total: Decimal = Decimal(0)


@login_required
@vary_on_headers("HX-Request")
def action_detail(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    return _render_sheet(request, action_for_user(request.user, pk))


@login_required
@require_POST
@vary_on_headers("HX-Request")
def action_update_status(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    access = action_for_user(request.user, pk, write=True)
    action = access.action
    form = ActionStatusForm(request.POST)
    if not form.is_valid():
        return _render_sheet(request, access, form=form)
    data = form.cleaned_data
    try:
        services.action_update_status(
            action=access,
            by=request.user,
            status=data["status"],
            progress=data["progress"],
            comment=data["comment"],
            expected_version=data["version"],
        )
    except ActionConflict as conflict:
        # The author's values stay in the form, with the version they have now seen.
        form = ActionStatusForm(_with_version(request.POST, conflict.current.version))
        current = access.with_action(conflict.current)
        return _render_sheet(request, current, form=form, conflict=conflict, status=409)
    except ValidationError as error:
        _add_errors(form, error)
        return _render_sheet(request, access, form=form)
    message = f"Avancement de l'action {action.code} mis à jour."
    if not wants_fragment(request):
        messages.success(request, message)
        return redirect("actions:detail", pk=action.pk)
    # The panel with the confirmation just above the fresh form, and the summary under the
    # title, out of band: the whole page shows the new status at once.
    context = {**_panel_context(access, None, None), "confirmation": message}
    html = render_to_string(PANEL, context, request) + render_to_string(
        SUMMARY, {"action": action, "oob": True}, request
    )
    return HttpResponse(html)


@login_required
@require_http_methods(["GET", "POST"])
def action_edit(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    access = action_for_user(request.user, pk, edit=True)
    action = access.action
    prefetch_related_objects([action], "contributors", "fundings")
    if request.method != "POST":
        form = ActionSheetForm(instance=action)
        formset = FundingFormSet(initial=funding_initial(action), prefix="fundings")
        return _render_edit(request, action, form, formset)
    form = ActionSheetForm(request.POST, instance=action)
    formset = FundingFormSet(request.POST, prefix="fundings")
    form_valid, formset_valid = form.is_valid(), formset.is_valid()  # both, to show all errors
    if not (form_valid and formset_valid):
        return _render_edit(request, action, form, formset)
    lines = cast(BaseFundingFormSet, formset).funding_lines()
    try:
        services.action_edit_sheet(
            action=access,
            by=request.user,
            data=ActionSheetForm.sheet_data(form.cleaned_data),
            contributors=form.cleaned_data["contributors"],
            fundings=lines,
            expected_version=form.cleaned_data["version"],
        )
    except ActionConflict as conflict:
        return _render_edit_conflict(request, conflict, form, lines)
    except ValidationError as error:
        _add_errors(form, error)
        return _render_edit(request, action, form, formset)
    messages.success(request, f"Fiche de l'action {action.code} enregistrée.")
    return redirect("actions:detail", pk=action.pk)


# --- The sheet and its status panel -----------------------------------------------------------


def _render_sheet(
    request: AuthenticatedHttpRequest,
    access: ActionAccess,
    *,
    form: ActionStatusForm | None = None,
    conflict: ActionConflict | None = None,
    status: int = 200,
) -> HttpResponse:
    """The full page, or only the status panel for htmx (always 200: htmx 2 drops 4xx)."""
    if form is not None and form.errors:
        _focus_first_error(form)
    action = access.action
    if wants_fragment(request):
        return render(request, PANEL, _panel_context(access, form, conflict))
    _prefetch_sheet(action)
    context = {
        **_panel_context(access, form, conflict),
        "can_edit": access.can_edit,
        "contributors": list(action.contributors.all()),
        "sublists": list(action.sublists.all()),
        **_budget(action),
    }
    return render(request, PAGE, context, status=status)


def _panel_context(
    access: ActionAccess, form: ActionStatusForm | None, conflict: ActionConflict | None
) -> dict[str, Any]:
    can_update = access.can_update
    if can_update and form is None:
        form = ActionStatusForm.for_action(access.action)
    return {
        "action": access.action,
        "history": _history(access.action),
        "can_update": can_update,
        "form": form if can_update else None,
        "conflict": conflict,
    }


# The sheet shows the latest entries of its history; the rest comes a page at a time, on
# request ("Voir les mises à jour précédentes"): a long history no longer weighs on the sheet.
HISTORY_PAGE_SIZE = 20
# A page number is anybody's to write: bounded, so that its LIMIT stays a number SQL takes.
MAX_HISTORY_PAGE = 10_000

HistoryEntry = tuple[str, StatusUpdate | CarrierChange | SheetChange]


@dataclass
class HistoryPage:
    entries: list[HistoryEntry]
    number: int
    has_next: bool

    @property
    def next_number(self) -> int:
        return self.number + 1

    @property
    def first_position(self) -> int:
        """The rank of the page's first entry in the whole history (an <ol>'s start)."""
        return (self.number - 1) * HISTORY_PAGE_SIZE + 1


def _history(action: Action, page: int = 1) -> HistoryPage:
    """Page `page` of the status updates, carrier changes and sheet changes, newest first,
    each tagged with its kind: three bounded queries, whatever the history's length."""
    end = page * HISTORY_PAGE_SIZE
    people = ("author", "author_organisation")
    # Each kind's newest `end + 1` are enough to know the merged page and whether one follows.
    kinds: list[tuple[str, Any]] = [
        ("status", StatusUpdate.objects.filter(action=action)),
        ("carriers", CarrierChange.objects.filter(action=action)),
        ("sheet", SheetChange.objects.filter(action=action)),
    ]
    entries: list[HistoryEntry] = [
        (kind, entry)
        for kind, rows in kinds
        for entry in rows.select_related(*people).order_by("-created_at", "-pk")[: end + 1]
    ]
    # Each is already newest first; a stable sort keeps that order among equal dates.
    entries.sort(key=lambda entry: entry[1].created_at, reverse=True)
    return HistoryPage(entries[end - HISTORY_PAGE_SIZE : end], page, len(entries) > end)


@login_required
@require_safe
@vary_on_headers("HX-Request")
def action_history(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """A further page of an action's history: for htmx, its entries (added at the end of the
    sheet's list) and the next button; without JavaScript, a page of its own."""
    access = action_for_user(request.user, pk)
    try:
        number = min(max(int(request.GET.get("page", "2")), 1), MAX_HISTORY_PAGE)
    except ValueError:
        number = 2
    context = {"action": access.action, "history": _history(access.action, number)}
    if wants_fragment(request):
        return render(request, "actions/history.html#more", context)
    return render(request, "actions/history.html", context)


def _prefetch_sheet(action: Action) -> None:
    """One query per related list, whatever their lengths (guarded by test_sheet)."""
    # Explicit orderings: the models' Meta orderings start with the parent action, which
    # would join actions_action and axes_axis for nothing.
    items = SubAction.objects.order_by("position", "pk")
    prefetch_related_objects(
        [action],
        "contributors",
        Prefetch("fundings", queryset=Funding.objects.order_by("year", "funder")),
        Prefetch(
            "sublists",
            queryset=SubList.objects.order_by("position", "pk").prefetch_related(
                Prefetch("items", queryset=items)
            ),
        ),
    )


def _budget(action: Action) -> dict[str, Any]:
    years: dict[int, FundingYear] = {}
    for funding in action.fundings.all():  # ordered by year then funder (model Meta)
        year = years.setdefault(funding.year, FundingYear(funding.year))
        year.rows.append(funding)
        year.total += funding.amount
    return {
        "funding_years": list(years.values()),
        "funding_total": sum((y.total for y in years.values()), Decimal(0)),
    }


def _focus_first_error(form: BaseForm) -> None:
    # htmx 2 focuses the [autofocus] element of swapped content; browsers do it on page load.
    for name in form.errors:
        if name in form.fields and not form.fields[name].widget.is_hidden:
            form.fields[name].widget.attrs["autofocus"] = True
            return


def _with_version(data: QueryDict, version: int) -> QueryDict:
    data = data.copy()
    data["version"] = str(version)
    return data


def _add_errors(form: BaseForm, error: ValidationError) -> None:
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for name, errors in error.message_dict.items():
        form.add_error(name if name in form.fields else None, errors)


# --- The coordinator's editor -------------------------------------------------------------


def _render_edit(
    request: AuthenticatedHttpRequest,
    action: Action,
    form: ActionSheetForm,
    formset: Any,
    *,
    conflict: ActionConflict | None = None,
    differences: list[dict[str, str]] | None = None,
    status: int = 200,
) -> HttpResponse:
    if form.errors:
        _focus_first_error(form)
    context = {
        "action": action,
        "form": form,
        "formset": formset,
        "conflict": conflict,
        "differences": differences or [],
    }
    return render(request, "actions/edit.html", context, status=status)


def _render_edit_conflict(
    request: AuthenticatedHttpRequest,
    conflict: ActionConflict,
    form: ActionSheetForm,
    lines: list[FundingLine],
) -> HttpResponse:
    """409 with what the other person saved, next to the author's own values kept in the form."""
    current = conflict.current
    prefetch_related_objects([current], "contributors", "fundings")
    differences = _sheet_differences(current, form, lines)
    data = _with_version(request.POST, current.version)
    return _render_edit(
        request,
        current,
        # A copy: validating a ModelForm writes the typed values onto its instance.
        ActionSheetForm(data, instance=copy.copy(current)),
        FundingFormSet(data, prefix="fundings"),
        conflict=conflict,
        differences=differences,
        status=409,
    )


def _sheet_differences(
    current: Action, form: ActionSheetForm, lines: list[FundingLine]
) -> list[dict[str, str]]:
    """The fields whose saved value is not the one the author typed: what to look at again."""
    mine = form.cleaned_data
    rows = []
    for name in SHEET_FIELDS:
        theirs_value, mine_value = getattr(current, name), mine.get(name)
        if (theirs_value or None) != (mine_value or None):
            rows.append(
                _difference(form[name].label, _show(name, theirs_value), _show(name, mine_value))
            )
    theirs_contributors = list(current.contributors.all())
    if {o.pk for o in theirs_contributors} != {o.pk for o in mine["contributors"]}:
        rows.append(
            _difference(
                "Partenaires contributeurs",
                _show_list(theirs_contributors),
                _show_list(mine["contributors"]),
            )
        )
    theirs_lines = [FundingLine(f.year, f.funder, f.amount) for f in current.fundings.all()]
    if sorted(map(_show_line, theirs_lines)) != sorted(map(_show_line, lines)):
        rows.append(
            _difference(
                "Financements",
                "; ".join(map(_show_line, theirs_lines)) or "aucun",
                "; ".join(map(_show_line, lines)) or "aucun",
            )
        )
    return rows


def _difference(label: Any, theirs: str, mine: str) -> dict[str, str]:
    return {"label": str(label).removesuffix(" (obligatoire)"), "theirs": theirs, "mine": mine}


def _show(name: str, value: Any) -> str:
    if value in (None, ""):
        return "non renseigné"
    if name == "priority":
        return str(Priority(value).label)
    if isinstance(value, date):
        return frdate(value)  # "1er juillet 2026", not Django's "1 juillet 2026"
    return str(value)


def _show_list(organisations: Any) -> str:
    return ", ".join(str(o) for o in organisations) or "aucun"


def _show_line(line: FundingLine) -> str:
    amount = number_format(line.amount, decimal_pos=2, force_grouping=True)
    return f"{line.year} — {line.funder.strip()} : {amount}\u00a0€"
