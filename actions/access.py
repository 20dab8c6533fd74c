"""Who may see and change the action plan: the access rule of docs/security.md, written once.

The plan is not nominative: every person with a role on the council reads it. A partner
contact updates the actions its organisation leads or contributes to, plus any action for which
it holds a per-object exception (django-guardian); the coordinator updates and edits everything.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.shortcuts import get_object_or_404

from clspdr.models import Role
from clspdr.permissions import has_perm, rule

if TYPE_CHECKING:
    from actions.models import Action
    from clspdr.models import User

_READER_ROLES = frozenset({Role.COORDINATOR, Role.PARTNER, Role.ELECTED, Role.ADMIN, Role.DPO})


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


def updatable_actions_filter(user: User) -> Q:
    """A Q usable on Action: the actions `user` may update (one pk__in subquery each)."""
    from actions.models import Action, ActionGroupObjectPermission, ActionUserObjectPermission

    if not (user.is_authenticated and user.is_active):
        return Q(pk__in=[])
    if user.role == Role.COORDINATOR:
        return Q()
    granted = Q(
        pk__in=ActionUserObjectPermission.objects.filter(
            user=user, permission__codename="update_action_status"
        ).values("content_object_id")
    ) | Q(
        pk__in=ActionGroupObjectPermission.objects.filter(
            group__user=user, permission__codename="update_action_status"
        ).values("content_object_id")
    )
    if user.role == Role.PARTNER and user.organisation_id:
        carried = Action.objects.carried_by(user.organisation_id).values("pk")
        return granted | Q(pk__in=carried)
    return granted


@rule("plan.view")
def _plan_view(user: User, obj: object) -> bool:
    return can_view_plan(user)


@rule("plan.export")
def _plan_export(user: User, obj: object) -> bool:
    return can_view_plan(user)


@rule("action.update_status")
def _action_update_status(user: User, action: Action | None) -> bool:
    from actions.models import Action

    if action is None:
        return Action.objects.updatable_by(user).exists()
    return Action.objects.updatable_by(user).filter(pk=action.pk).exists()


@rule("action.edit")
def _action_edit(user: User, obj: object) -> bool:
    return user.role == Role.COORDINATOR


def action_for_user(user: User, pk: int, *, write: bool = False, edit: bool = False) -> Action:
    """The one way views fetch an action.

    403 for a person without access to the plan (it is not secret, so no need to hide it),
    404 for an unknown action, 403 when writing without the right.
    """
    from actions.models import Action

    if not has_perm(user, "plan.view"):
        raise PermissionDenied
    action = get_object_or_404(
        Action.objects.visible_to(user).select_related("axis__strategy", "lead_organisation"),
        pk=pk,
    )
    if edit and not has_perm(user, "action.edit", action):
        raise PermissionDenied
    if write and not has_perm(user, "action.update_status", action):
        raise PermissionDenied
    return action
