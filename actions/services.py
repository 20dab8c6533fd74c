"""Writes to the action plan. Views, forms, commands and tasks call these; rules live here."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from actions.models import Action, Funding, Status, StatusUpdate
from clspdr.permissions import has_perm
from clspdr.text import forbidden_message

if TYPE_CHECKING:
    from clspdr.models import User
    from governance.models import Organisation

COMMENT_MAX_LENGTH = 2000

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
    action: Action,
    by: User,
    status: str,
    progress: int,
    comment: str = "",
    expected_version: int,
    at: datetime | None = None,
) -> StatusUpdate:
    """Record a status update; raise ActionConflict if the action changed since it was read.

    `action` must be the instance the author saw (its status and progress are kept as the
    "before" values of the history). `at` back-dates the update (demo data, imports).
    """
    if not has_perm(by, "action.update_status", action):
        raise PermissionDenied
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
    contributors: Iterable[Organisation] | None = None,
    fundings: Sequence[FundingLine] | None = None,
) -> None:
    """The rules of a sheet, whoever writes it (the editor's form calls this too)."""
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
    if isinstance(start, date) and isinstance(end, date) and end < start:
        error("end_date", "La date de fin doit être postérieure ou égale à la date de début.")
    lead = data.get("lead_organisation")
    if lead is not None and contributors is not None and lead in set(contributors):
        error(
            "contributors",
            f"{lead} pilote l'action : elle ne peut pas être aussi partenaire contributeur.",
        )
    if fundings is not None:
        seen: set[tuple[int, str]] = set()
        for line in fundings:
            key = (line.year, line.funder.strip().casefold())
            if key in seen:
                error(
                    "fundings",
                    f"Le financement {line.year} de « {line.funder} » est saisi deux fois.",
                )
            seen.add(key)
            if message := forbidden_message(line.funder):
                error("fundings", message)
            if line.amount < 0:
                error("fundings", "Un montant de financement ne peut pas être négatif.")
    if errors:
        raise ValidationError(errors)


def action_edit_sheet(
    *,
    action: Action,
    by: User,
    data: Mapping[str, Any],
    contributors: Iterable[Organisation] | None = None,
    fundings: Sequence[FundingLine] | None = None,
    expected_version: int,
) -> Action:
    """Save the coordinator's edit of a sheet; raise ActionConflict if the action changed since
    it was read. `data` maps SHEET_FIELDS to values; `contributors` and `fundings`, when given,
    replace the current ones (None leaves them as they are).
    """
    if not has_perm(by, "action.edit", action):
        raise PermissionDenied
    contributors = list(contributors) if contributors is not None else None
    validate_sheet(data, contributors=contributors, fundings=fundings)
    with transaction.atomic():
        written = Action.objects.filter(pk=action.pk, version=expected_version).update(
            **data, version=F("version") + 1, modified_by=by, modified_at=timezone.now()
        )
        if not written:
            raise ActionConflict.for_action(action.pk)
        if contributors is not None:
            action.contributors.set(contributors)
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
