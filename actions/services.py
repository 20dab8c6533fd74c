"""Writes to the action plan. Views, forms, commands and tasks call these; rules live here."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from actions.access import ActionAccess, authorize
from actions.models import (
    Action,
    ActionContributor,
    CarrierChange,
    Funding,
    Priority,
    SheetChange,
    Status,
    StatusUpdate,
)
from axes.models import date_range_message
from clspdr.text import forbidden_message
from governance.models import Organisation

if TYPE_CHECKING:
    from axes.models import Strategy
    from clspdr.models import User

COMMENT_MAX_LENGTH = 2000

# The years a budget row may be for, whoever writes it (sheet editor, strategy file).
FUNDING_YEAR_MIN, FUNDING_YEAR_MAX = 2000, 2100
FUNDING_YEAR_MESSAGE = f"L'année doit être comprise entre {FUNDING_YEAR_MIN} et {FUNDING_YEAR_MAX}."
FUNDING_FUNDER_MESSAGE = "Indiquez le financeur."

# The fields of the sheet (fiche-action) the coordinator edits; status and progress are not
# among them: they only change through `action_update_status`, which keeps the history.
SHEET_FIELDS = (
    "title",
    "description",
    "lead_organisation",
    "target_public",
    "territory",
    "objectives",
    "means",
    "priority",
    "indicators",
    "start_date",
    "end_date",
)


class ActionConflict(Exception):
    """Someone saved the action since `expected_version` was read; nothing was written."""

    def __init__(self, current: Action) -> None:
        super().__init__(f"Action {current.pk} is at version {current.version}")
        self.current = current
        self.last_update = current.updates.select_related("author", "author_organisation").first()

    @classmethod
    def for_action(cls, pk: int) -> ActionConflict:
        """The conflict with the action as it is now in the database (what the other one saved)."""
        return cls(
            Action.objects.select_related(
                "axis__strategy", "lead_organisation", "modified_by__organisation"
            ).get(pk=pk)
        )


@dataclass(frozen=True)
class FundingLine:
    """One row of an action's budget as typed in: a year, a funder, an amount in euros."""

    year: int
    funder: str
    amount: Decimal


def validate_status_and_progress(status: str, progress: int) -> None:
    errors: dict[str, str] = {}
    if status not in Status.values:
        errors["status"] = "Statut inconnu."
    if not 0 <= progress <= 100:
        errors["progress"] = "L'avancement doit être compris entre 0 et 100 %."
    elif status == Status.DONE and progress != 100:
        errors["progress"] = "Une action réalisée est avancée à 100 %."
    elif status == Status.TODO and progress != 0:
        errors["progress"] = "Une action à lancer est avancée à 0 %."
    if errors:
        raise ValidationError(errors)


def action_update_status(
    *,
    action: Action | ActionAccess,
    by: User,
    status: str,
    progress: int,
    comment: str = "",
    expected_version: int,
    at: datetime | None = None,
) -> StatusUpdate:
    """Record a status update; raise ActionConflict if the action changed since it was read.

    `action` must be the instance the author saw (its status and progress are kept as the
    "before" values of the history), or the `ActionAccess` a view fetched it with, whose
    decision is not asked again. `at` back-dates the update (demo data, imports).
    """
    action = authorize(action, by, "action.update_status")
    validate_status_and_progress(status, progress)
    comment = comment.strip()
    if len(comment) > COMMENT_MAX_LENGTH:
        raise ValidationError(
            {"comment": f"Le commentaire dépasse {COMMENT_MAX_LENGTH} caractères."}
        )
    if message := forbidden_message(comment):
        raise ValidationError({"comment": message})
    when = at or timezone.now()
    with transaction.atomic():
        written = Action.objects.filter(pk=action.pk, version=expected_version).update(
            status=status,
            progress=progress,
            version=F("version") + 1,
            last_update_at=when,
            modified_by=by,
            modified_at=when,
        )
        if not written:
            raise ActionConflict.for_action(action.pk)
        update = StatusUpdate.objects.create(
            action=action,
            strategy_id=action.axis.strategy_id,
            author=by,
            author_organisation_id=by.organisation_id,
            created_at=when,
            previous_status=action.status,
            previous_progress=action.progress,
            status=status,
            progress=progress,
            comment=comment,
        )
    action.status, action.progress, action.last_update_at = status, progress, when
    action.version = expected_version + 1
    return update


def validate_sheet(
    data: Mapping[str, Any],
    *,
    strategy: Strategy | None = None,
    contributors: Iterable[Organisation] | None = None,
    fundings: Sequence[FundingLine] | None = None,
) -> None:
    """The rules of a sheet, whoever writes it (the editor's form calls this too).

    With `strategy`, the action's, its dates must fall within the strategy's plausible range.
    """
    errors: dict[str, list[str]] = {}

    def error(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    unknown = set(data) - set(SHEET_FIELDS)
    if unknown:
        raise ValueError(f"Not sheet fields: {sorted(unknown)}")
    if "title" in data and not str(data["title"] or "").strip():
        error("title", "L'intitulé de l'action est obligatoire.")
    for field, value in data.items():
        if isinstance(value, str) and (message := forbidden_message(value)):
            error(field, message)
    start, end = data.get("start_date"), data.get("end_date")
    if strategy is not None:
        first, last = strategy.date_range
        for field in ("start_date", "end_date"):
            day = data.get(field)
            if isinstance(day, date) and not first <= day <= last:
                error(field, date_range_message(first, last))
    if isinstance(start, date) and isinstance(end, date) and end < start:
        error("end_date", "La date de fin doit être postérieure ou égale à la date de début.")
    lead = data.get("lead_organisation")
    if lead is not None and contributors is not None and lead in set(contributors):
        error(
            "contributors",
            f"{lead} pilote l'action : elle ne peut pas être aussi partenaire contributeur.",
        )
    if fundings is not None:
        for index, line in enumerate(fundings):
            for message in funding_errors(line, earlier=fundings[:index]):
                error("fundings", message)
    if errors:
        raise ValidationError(errors)


def funding_errors(line: FundingLine, *, earlier: Sequence[FundingLine] = ()) -> list[str]:
    """What is wrong with one row of a budget whose `earlier` rows come before it."""
    errors = []
    key = _funding_key(line)
    if any(_funding_key(other) == key for other in earlier):
        errors.append(
            f"Le financement {line.year} de « {line.funder.strip()} » est saisi deux fois."
        )
    if not FUNDING_YEAR_MIN <= line.year <= FUNDING_YEAR_MAX:
        errors.append(FUNDING_YEAR_MESSAGE)
    if not line.funder.strip():
        errors.append(FUNDING_FUNDER_MESSAGE)
    elif message := forbidden_message(line.funder):
        errors.append(message)
    if line.amount < 0:
        errors.append("Un montant de financement ne peut pas être négatif.")
    return errors


def _funding_key(line: FundingLine) -> tuple[int, str]:
    return line.year, line.funder.strip().casefold()


def action_edit_sheet(
    *,
    action: Action | ActionAccess,
    by: User,
    data: Mapping[str, Any],
    contributors: Iterable[Organisation] | None = None,
    fundings: Sequence[FundingLine] | None = None,
    expected_version: int,
    at: datetime | None = None,
) -> Action:
    """Save the coordinator's edit of a sheet; raise ActionConflict if the action changed since
    it was read. `data` maps SHEET_FIELDS to values; `contributors` and `fundings`, when given,
    replace the current ones (None leaves them as they are). Each changed field is recorded in
    the action's history (SheetChange), and so is a change of carriers (lead, contributors:
    CarrierChange). `at` back-dates the edit (demo data). `action` may be the `ActionAccess` a
    view fetched it with, as for `action_update_status`.
    """
    action = authorize(action, by, "action.edit")
    contributors = list(contributors) if contributors is not None else None
    validate_sheet(
        data, strategy=action.axis.strategy, contributors=contributors, fundings=fundings
    )
    when = at or timezone.now()
    with transaction.atomic():
        # The carriers as saved, read under the row lock: the instance may already hold the
        # typed values (a validated ModelForm writes them onto it).
        before = _carriers(action.pk, expected_version, fields=[*data])
        if before is None:
            raise ActionConflict.for_action(action.pk)
        change = _carrier_change(before, data, contributors)
        written = Action.objects.filter(pk=action.pk, version=expected_version).update(
            **data, version=F("version") + 1, modified_by=by, modified_at=when
        )
        if not written:
            raise ActionConflict.for_action(action.pk)
        if change is not None:
            _write_carrier_change(action, change, by=by, at=when)
        traced = _field_changes(before.sheet, data)
        if fundings is not None:
            traced += _budget_change(action, fundings)
        SheetChange.objects.bulk_create(
            SheetChange(
                action=action,
                author=by,
                author_organisation_id=by.organisation_id,
                created_at=when,
                field=name,
                previous=previous,
                value=value,
            )
            for name, previous, value in traced
        )
        if fundings is not None:
            # Replaced as a whole: the budget is a small table typed in one form.
            action.fundings.all().delete()
            Funding.objects.bulk_create(
                Funding(action=action, year=f.year, funder=f.funder.strip(), amount=f.amount)
                for f in fundings
            )
    for name, value in data.items():
        setattr(action, name, value)
    action.version = expected_version + 1
    return action


def action_create(
    *, action: Action, by: User | None, contributors: Iterable[Organisation] = ()
) -> Action:
    """Save a new action, built but not saved (the admin's add form, the strategy loader), with
    its first sheet: the rules of every sheet apply, and its first carriers open its history.

    Access is the admin's model permission. `by=None` is the strategy loader, run from the
    command line by whoever may run manage.py: no check, and no author, so the carriers the
    adopted strategy names are its starting point, not a change in the history.
    """
    if action.pk is not None:
        raise ValueError("action_create saves a new action")
    if by is not None and not by.has_perm("actions.add_action"):
        raise PermissionDenied
    contributors = list(contributors)
    data = {name: getattr(action, name) for name in SHEET_FIELDS}
    validate_sheet(data, strategy=action.axis.strategy, contributors=contributors)
    change = _carrier_change(_Carriers(None, "", {}), data, contributors)
    when = timezone.now()
    with transaction.atomic():
        action.modified_by, action.modified_at, action.version = by, when, 1
        action.save()
        if change is not None:
            _write_carrier_change(action, change, by=by, at=when)
    return action


def funding_create(*, action: Action, by: User | None, line: FundingLine) -> Funding:
    """Add one row to the budget of an action just created (the strategy loader): the rules of
    the sheet's budget apply, row by row, so that an error names its row. The sheet editor
    replaces a budget as a whole through `action_edit_sheet`. `by=None` as in action_create."""
    if by is not None:
        action = authorize(action, by, "action.edit")
    saved = [FundingLine(f.year, f.funder, f.amount) for f in Funding.objects.filter(action=action)]
    if errors := funding_errors(line, earlier=saved):
        raise ValidationError({"fundings": errors})
    return Funding.objects.create(
        action=action, year=line.year, funder=line.funder.strip(), amount=line.amount
    )


# --- The trace of a sheet edit: each changed field, from what to what ---------------------


def _field_changes(saved: Mapping[str, Any], data: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """(field, before, after) as shown, for each field of `data` whose shown value changes;
    the lead is left to the carrier history."""
    changes = []
    for name, value in data.items():
        if name in saved:
            previous, new = _shown(name, saved[name]), _shown(name, value)
            if previous != new:
                changes.append((name, previous, new))
    return changes


def _shown(name: str, value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, date):
        return f"{value:%d/%m/%Y}"
    if name == "priority" and value in Priority.values:
        return str(Priority(value).label)
    return str(value)


def _budget_change(action: Action, fundings: Sequence[FundingLine]) -> list[tuple[str, str, str]]:
    saved = [FundingLine(f.year, f.funder, f.amount) for f in Funding.objects.filter(action=action)]
    previous, new = _shown_budget(saved), _shown_budget(fundings)
    return [("fundings", previous, new)] if previous != new else []


def _shown_budget(lines: Iterable[FundingLine]) -> str:
    """ "2024 FIPD : 12 000,00 € ; 2025 Ville : 500,00 €", by year then funder."""
    rows = sorted((line.year, line.funder.strip(), line.amount) for line in lines)
    return " ; ".join(f"{year} {funder} : {_euros(amount)}" for year, funder, amount in rows)


def _euros(amount: Decimal) -> str:
    return f"{amount:,.2f} €".replace(",", " ").replace(".", ",")


# --- Carriers: who leads and who contributes, with their history --------------------------


@dataclass(frozen=True)
class _Carriers:
    """An action's carriers as saved: the lead's id and name, the contributors' names by id;
    and the saved values of the sheet fields asked for (`sheet`)."""

    lead_id: int | None
    lead_name: str
    contributors: dict[int, str]
    sheet: dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclass(frozen=True)
class _CarrierDiff:
    lead: tuple[str, str] | None  # (before, after), None if the lead is unchanged
    added: list[Organisation]
    removed: dict[int, str]


def _carriers(pk: int, version: int, fields: Sequence[str] = ()) -> _Carriers | None:
    """The saved carriers of action `pk` and its saved `fields`, locking its row; None if it is
    not at `version`."""
    # No join in the locking query: PostgreSQL cannot lock the nullable side of an outer join.
    columns = [name for name in fields if name != "lead_organisation"]
    rows = list(
        Action.objects.select_for_update()
        .filter(pk=pk, version=version)
        .values("lead_organisation_id", *columns)
    )
    if not rows:
        return None
    sheet = rows[0]
    lead_id = sheet.pop("lead_organisation_id")
    lead_name = (
        Organisation.objects.filter(pk=lead_id).values_list("name", flat=True).first() or ""
        if lead_id is not None
        else ""
    )
    contributors = dict(
        ActionContributor.objects.filter(action_id=pk).values_list(
            "organisation_id", "organisation__name"
        )
    )
    return _Carriers(lead_id, lead_name, contributors, sheet)


def _carrier_change(
    before: _Carriers, data: Mapping[str, Any], contributors: list[Organisation] | None
) -> _CarrierDiff | None:
    """What `data` and `contributors` change in the carriers; refuse archived newcomers."""
    errors: dict[str, str] = {}
    lead: tuple[str, str] | None = None
    if "lead_organisation" in data:
        new_lead: Organisation | None = data["lead_organisation"]
        if (new_lead.pk if new_lead else None) != before.lead_id:
            lead = (before.lead_name, new_lead.name if new_lead else "")
            if new_lead is not None and new_lead.is_archived:
                errors["lead_organisation"] = _archived_message(new_lead, "désignée pilote")
    added: list[Organisation] = []
    removed: dict[int, str] = {}
    if contributors is not None:
        wanted = {o.pk: o for o in contributors}
        added = sorted(
            (o for pk, o in wanted.items() if pk not in before.contributors), key=lambda o: o.name
        )
        removed = {pk: name for pk, name in before.contributors.items() if pk not in wanted}
        archived = [o for o in added if o.is_archived]
        if archived:
            errors["contributors"] = " ".join(
                _archived_message(o, "ajoutée aux partenaires contributeurs") for o in archived
            )
    if errors:
        raise ValidationError(errors)
    if lead is None and not added and not removed:
        return None
    return _CarrierDiff(lead, added, removed)


def _archived_message(organisation: Organisation, what: str) -> str:
    return f"« {organisation.name} » est archivée : elle ne peut plus être {what}."


def _write_carrier_change(
    action: Action, diff: _CarrierDiff, *, by: User | None, at: datetime
) -> None:
    if diff.removed:
        ActionContributor.objects.filter(
            action_id=action.pk, organisation_id__in=diff.removed
        ).delete()
    if diff.added:
        ActionContributor.objects.bulk_create(
            ActionContributor(action_id=action.pk, organisation_id=o.pk) for o in diff.added
        )
    # The instance's cached contributors (prefetched by the views) are now stale.
    getattr(action, "_prefetched_objects_cache", {}).pop("contributors", None)
    if by is None:  # the strategy loader: the file's carriers are where the history starts
        return
    previous_lead, lead = diff.lead or ("", "")
    CarrierChange.objects.create(
        action=action,
        author=by,
        author_organisation_id=by.organisation_id,
        created_at=at,
        previous_lead=previous_lead,
        lead=lead,
        added=[o.name for o in diff.added],
        removed=sorted(diff.removed.values()),
    )
