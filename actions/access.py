"""Who may see and change the action plan: the access rule of docs/security.md, written once.

The plan is not nominative: every person with a role on the council reads it. A partner
contact updates the actions its organisation leads or contributes to, plus any action for which
it holds a per-object exception (django-guardian); the coordinator updates and edits everything.
Which rows that makes is `ActionQuerySet.updatable_by`; the decisions on one action are here.

A request decides once: `action_for_user` fetches the action with what the person may do on it
(`ActionAccess`), views and templates read those flags, and the services take the `ActionAccess`
instead of asking again. Callers without a request (commands, tasks, the demo) hand the
services a bare action, and the services ask the vocabulary.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef
from django.shortcuts import get_object_or_404

from actions.models import Action
from clspdr.models import Role
from clspdr.permissions import ACTION_UPDATE_STATUS, has_perm, rule

if TYPE_CHECKING:
    from clspdr.models import User

_READER_ROLES = frozenset({Role.COORDINATOR, Role.PARTNER, Role.ELECTED, Role.ADMIN, Role.DPO})

# Only this module builds an ActionAccess: a service handed one knows it was decided here.
_DECIDED = object()


@dataclass(frozen=True)
class ActionAccess:
    """An action as fetched for `user`, with what `user` may do on it, decided in one go."""

    action: Action
    user: User
    can_update: bool
    can_edit: bool
    _seal: object = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self._seal is not _DECIDED:
            raise TypeError("An ActionAccess is decided by action_for_user(), not built.")

    def with_action(self, action: Action) -> ActionAccess:
        """The same decision for a fresher copy of the same action (after a conflict)."""
        if action.pk != self.action.pk:
            raise ValueError("An access is decided for one action.")
        return replace(self, action=action)


def can_view_plan(user: User) -> bool:
    if not (user.is_authenticated and user.is_active):
        return False
    if user.role in _READER_ROLES:
        return True
    # Remembered on the user object, which lives for one request: pages ask several times.
    cached: bool | None = getattr(user, "_can_view_plan", None)
    if cached is None:
        from governance.models import Membership

        cached = Membership.objects.active().filter(user=user).exists()
        user._can_view_plan = cached  # type: ignore[attr-defined]
    return cached


@rule("plan.view")
def _plan_view(user: User, obj: object) -> bool:
    return can_view_plan(user)


@rule("plan.export")
def _plan_export(user: User, obj: object) -> bool:
    return can_view_plan(user)


@rule(ACTION_UPDATE_STATUS.name)
def _action_update_status(user: User, action: Action | None) -> bool:
    if action is None:
        return Action.objects.any_updatable_by(user)
    return Action.objects.updatable_by(user).filter(pk=action.pk).exists()


@rule("action.edit")
def _action_edit(user: User, obj: object) -> bool:
    return user.role == Role.COORDINATOR


def action_for_user(
    user: User, pk: int, *, write: bool = False, edit: bool = False
) -> ActionAccess:
    """The one way views fetch an action, with what `user` may do on it.

    403 for a person without access to the plan (it is not secret, so no need to hide it),
    404 for an unknown action, 403 when writing (`write`: updating the status, `edit`: the
    sheet) without the right. The right to update is read in the query that fetches the action.
    """
    if not has_perm(user, "plan.view"):
        raise PermissionDenied
    updatable = Action.objects.updatable_by(user).filter(pk=OuterRef("pk"))
    action = get_object_or_404(
        Action.objects.visible_to(user)
        .select_related("axis__strategy", "lead_organisation")
        .annotate(updatable=Exists(updatable)),
        pk=pk,
    )
    access = ActionAccess(
        action,
        user,
        can_update=bool(action.updatable),  # type: ignore[attr-defined]
        can_edit=has_perm(user, "action.edit", action),
        _seal=_DECIDED,
    )
    if edit and not access.can_edit:
        raise PermissionDenied
    if write and not access.can_update:
        raise PermissionDenied
    return access


_FLAGS = {ACTION_UPDATE_STATUS.name: "can_update", "action.edit": "can_edit"}


def authorize(target: Action | ActionAccess, user: User, name: str) -> Action:
    """The action, if `user` may do `name` ("action.update_status" or "action.edit") on it;
    PermissionDenied otherwise. For the services: an `ActionAccess` carries the decision made
    for `user` in this request, a bare action (commands, tasks) is asked now."""
    flag = _FLAGS[name]
    if isinstance(target, ActionAccess):
        if target.user.pk != user.pk:
            raise PermissionDenied  # decided for someone else: it says nothing about `user`
        if not getattr(target, flag):
            raise PermissionDenied
        return target.action
    if not has_perm(user, name, target):
        raise PermissionDenied
    return target
