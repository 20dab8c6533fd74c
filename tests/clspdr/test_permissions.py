import pytest

from clspdr import permissions
from clspdr.permissions import ACTION_UPDATE_STATUS


def test_it_raises_on_an_unknown_permission_name(personas):
    with pytest.raises(permissions.UnknownPermission):
        permissions.has_perm(personas["coordination"], "action.updat_status")


def test_it_refuses_to_register_a_rule_outside_the_vocabulary():
    with pytest.raises(permissions.UnknownPermission):
        permissions.rule("plan.everything")


def test_it_has_a_rule_for_every_name_of_the_vocabulary():
    assert set(permissions._rules) == set(permissions.VOCABULARY)


@pytest.mark.parametrize(
    ("persona", "expected"),
    [
        ("anonymous", False),
        ("outsider", False),
        ("coordination", True),
        ("police", True),
        ("plenier", True),
        ("admin", True),
    ],
)
def test_it_lets_council_people_read_the_plan(personas, persona, expected):
    from django.contrib.auth.models import AnonymousUser

    user = personas[persona] or AnonymousUser()
    assert permissions.has_perm(user, "plan.view") is expected


def test_it_lets_a_partner_update_only_what_its_organisation_carries(world, personas):
    from actions.models import Action

    police_can = set(Action.objects.updatable_by(personas["police"]))
    college_can = set(Action.objects.updatable_by(personas["education"]))
    assert police_can == {world.actions["police_led"]}
    assert college_can == {world.actions["police_led"], world.actions["college_led"]}
    assert not Action.objects.updatable_by(personas["plenier"]).exists()
    assert Action.objects.updatable_by(personas["coordination"]).count() == 3


def test_it_grants_a_per_action_exception_with_guardian(world, personas):
    from guardian.shortcuts import assign_perm

    plenier, action = personas["plenier"], world.actions["ville_led"]
    assert not permissions.has_perm(plenier, "action.update_status", action)
    assign_perm(permissions.ACTION_UPDATE_STATUS.perm, plenier, action)
    assert permissions.has_perm(plenier, "action.update_status", action)
    assert not permissions.has_perm(plenier, "action.update_status", world.actions["police_led"])


def test_it_tells_who_may_update_some_action_as_updatable_by_does(world, personas):
    """`any_updatable_by` answers `updatable_by(user).exists()` without walking the actions:
    the same answer for every persona, a partner carrying nothing, and a guardian grant."""
    from django.contrib.auth.models import Group
    from guardian.shortcuts import assign_perm

    from actions.models import Action
    from clspdr.models import Role
    from tests.factories import OrganisationFactory, UserFactory

    idle = UserFactory(role=Role.PARTNER, organisation=OrganisationFactory(name="Sans action"))
    granted = UserFactory(role=Role.ELECTED)
    assign_perm(ACTION_UPDATE_STATUS.perm, granted, world.actions["ville_led"])
    in_group = UserFactory(role=Role.ELECTED)
    group = Group.objects.create(name="Référents")
    in_group.groups.add(group)
    assign_perm(ACTION_UPDATE_STATUS.perm, group, world.actions["ville_led"])
    people = [p for p in personas.values() if p is not None] + [idle, granted, in_group]
    answers = {p.username: Action.objects.any_updatable_by(p) for p in people}
    assert answers == {p.username: Action.objects.updatable_by(p).exists() for p in people}
    assert not answers[idle.username] and answers[granted.username] and answers[in_group.username]
    assert answers[personas["police"].username] and not answers[personas["plenier"].username]
