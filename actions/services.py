"""Writes to the action plan. Views, forms, commands and tasks call these; rules live here."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from actions.models import Action, Status, StatusUpdate
from clspdr.permissions import has_perm

if TYPE_CHECKING:
    from clspdr.models import User

COMMENT_MAX_LENGTH = 2000


class ActionConflict(Exception):
    """Someone saved the action since `expected_version` was read; nothing was written."""

    def __init__(self, current: Action) -> None:
        super().__init__(f"Action {current.pk} is at version {current.version}")
        self.current = current
        self.last_update = current.updates.select_related("author", "author_organisation").first()


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
    when = at or timezone.now()
    with transaction.atomic():
        written = Action.objects.filter(pk=action.pk, version=expected_version).update(
            status=status, progress=progress, version=F("version") + 1, last_update_at=when
        )
        if not written:
            raise ActionConflict(Action.objects.select_related("axis").get(pk=action.pk))
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
