"""The access to one action is decided once, by `action_for_user`, and carried."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied
from guardian.shortcuts import assign_perm

from actions import services
from actions.access import ActionAccess, action_for_user
from actions.models import Action, Status, StatusUpdate
from clspdr.permissions import ACTION_UPDATE_STATUS, VOCABULARY, ObjectPermission, UnknownPermission


@pytest.mark.parametrize(
    ("persona", "can_update", "can_edit"),
    [
        ("coordination", True, True),
        ("police", True, False),  # its organisation leads the action
        ("education", True, False),  # its organisation contributes
        ("bailleur", False, False),
        ("plenier", False, False),
    ],
)
def test_it_fetches_the_action_with_what_the_person_may_do(
    world, personas, persona, can_update, can_edit
):
    action = world.actions["police_led"]
    access = action_for_user(personas[persona], action.pk)
    assert access.action == action
    assert (access.can_update, access.can_edit) == (can_update, can_edit)


def test_it_reads_a_per_object_exception_in_the_same_decision(world, personas):
    plenier, action = personas["plenier"], world.actions["ville_led"]
    assign_perm(ACTION_UPDATE_STATUS.perm, plenier, action)
    assert action_for_user(plenier, action.pk, write=True).can_update


def test_it_lets_only_action_for_user_decide_an_access(world, personas):
    with pytest.raises(TypeError):
        ActionAccess(world.actions["ville_led"], personas["plenier"], True, True)


def test_the_service_refuses_an_access_decided_for_someone_else(world, personas):
    action = world.actions["police_led"]
    access = action_for_user(personas["police"], action.pk, write=True)
    with pytest.raises(PermissionDenied):
        services.action_update_status(
            action=access,
            by=personas["bailleur"],
            status=Status.IN_PROGRESS,
            progress=10,
            expected_version=action.version,
        )
    assert not StatusUpdate.objects.exists()


def test_the_service_still_asks_for_a_bare_action(world, personas):
    """Commands and tasks have no request: the service decides itself."""
    action = Action.objects.select_related("axis__strategy").get(pk=world.actions["police_led"].pk)
    with pytest.raises(PermissionDenied):
        services.action_edit_sheet(
            action=action, by=personas["police"], data={"title": "Autre"}, expected_version=1
        )
    services.action_update_status(
        action=action,
        by=personas["police"],
        status=Status.IN_PROGRESS,
        progress=10,
        expected_version=action.version,
    )
    assert StatusUpdate.objects.get().author == personas["police"]


def test_it_ties_the_guardian_codename_to_the_vocabulary():
    assert ACTION_UPDATE_STATUS.name in VOCABULARY
    codenames = [codename for codename, _ in Action._meta.permissions]
    assert codenames == [ACTION_UPDATE_STATUS.codename]
    with pytest.raises(UnknownPermission):
        ObjectPermission("action.updat_status", "actions", "update_action_status")


def test_the_models_do_not_import_the_access_rules():
    """actions/access.py reads the models; the models never reach back into it."""
    tree = ast.parse(Path(services.__file__).with_name("models.py").read_text())
    imported = {
        node.module if isinstance(node, ast.ImportFrom) else alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    assert "actions.access" not in imported
