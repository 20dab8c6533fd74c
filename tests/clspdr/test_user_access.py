"""`clspdr.accounts`: the one write path for who may do what with an account (issue 6 point 1).

Separation of duties (docs/security.md): nobody changes their own role, organisation, staff flag
or active flag; only a superuser grants or removes a privileged role, changes the staff flag, or
touches a privileged or staff account; every change is written to the audit trail.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from clspdr.accounts import (
    PRIVILEGED_ROLES,
    user_change_access,
    user_create,
    user_set_password,
)
from clspdr.models import AuditEvent, Role, User
from tests.factories import UserFactory


@pytest.fixture
def superuser(db) -> User:
    return UserFactory.create(username="racine", is_superuser=True, is_staff=True)


@pytest.fixture
def technical_admin(personas) -> User:
    return personas["admin"]  # the demo group's model permissions (tests/conftest.py)


def _state(user: User) -> tuple:
    fresh = User.objects.get(pk=user.pk)
    return (
        fresh.role,
        fresh.organisation_id,
        fresh.is_staff,
        fresh.is_active,
        fresh.email,
        fresh.password,
    )


def test_it_declares_the_privileged_roles():
    assert {Role.COORDINATOR, Role.ADMIN, Role.DPO} == PRIVILEGED_ROLES


@pytest.mark.parametrize("who", ["technical_admin", "superuser"])
@pytest.mark.parametrize(
    "change",
    [
        {"role": Role.PARTNER},
        {"organisation": "police"},
        {"is_staff": False},
        {"is_active": False},
    ],
    ids=["role", "organisation", "is_staff", "is_active"],
)
def test_it_refuses_anyone_a_change_of_their_own_access(request, world, who, change):
    me = request.getfixturevalue(who)
    if change.get("organisation") == "police":
        change = {"organisation": world.organisations["police"]}
    before = _state(me)
    with pytest.raises(PermissionDenied, match="propre compte"):
        user_change_access(user=me, by=me, **change)
    assert _state(me) == before
    assert not AuditEvent.objects.exists()


@pytest.mark.parametrize("role", sorted(PRIVILEGED_ROLES))
def test_it_refuses_a_non_superuser_to_grant_a_privileged_role(technical_admin, personas, role):
    target = personas["plenier"]
    with pytest.raises(PermissionDenied, match="superutilisateur"):
        user_change_access(user=target, by=technical_admin, role=role)
    assert User.objects.get(pk=target.pk).role == Role.MEMBER
    assert not AuditEvent.objects.exists()


@pytest.mark.parametrize(
    "change",
    [
        {"role": Role.MEMBER},
        {"email": "pirate@example.org"},
        {"is_active": False},
        {"organisation": "police"},
    ],
    ids=["role", "email", "is_active", "organisation"],
)
@pytest.mark.parametrize("target", ["coordination", "dpo", "colleague"])
def test_it_refuses_a_non_superuser_any_change_to_a_privileged_or_staff_account(
    technical_admin, personas, world, change, target
):
    if change.get("organisation") == "police":
        change = {"organisation": world.organisations["police"]}
    user = {
        "coordination": lambda: personas["coordination"],
        "dpo": lambda: UserFactory(username="dpd", role=Role.DPO),
        "colleague": lambda: UserFactory(username="collegue", role=Role.PARTNER, is_staff=True),
    }[target]()
    before = _state(user)
    with pytest.raises(PermissionDenied, match="superutilisateur"):
        user_change_access(user=user, by=technical_admin, **change)
    assert _state(user) == before


def test_it_refuses_a_non_superuser_the_staff_flag(technical_admin, personas):
    police = personas["police"]
    with pytest.raises(PermissionDenied, match="superutilisateur"):
        user_change_access(user=police, by=technical_admin, is_staff=True)
    assert not User.objects.get(pk=police.pk).is_staff


def test_it_changes_nothing_when_one_change_is_refused(technical_admin, personas, world):
    police = personas["police"]
    before = _state(police)
    with pytest.raises(PermissionDenied):
        user_change_access(
            user=police,
            by=technical_admin,
            organisation=world.organisations["ville"],
            is_staff=True,
        )
    assert _state(police) == before
    assert not AuditEvent.objects.exists()


def test_it_writes_one_audit_row_per_changed_field(superuser, personas, world):
    target = personas["plenier"]
    ville = world.organisations["ville"]
    events = user_change_access(
        user=target,
        by=superuser,
        role=Role.COORDINATOR,
        organisation=ville,
        is_staff=False,  # unchanged: no row
        email="nouvelle@example.org",
    )
    assert {e.action for e in events} == {
        "account.role_changed",
        "account.organisation_changed",
        "account.email_changed",
    }
    fresh = User.objects.get(pk=target.pk)
    assert (fresh.role, fresh.organisation, fresh.email) == (
        Role.COORDINATOR,
        ville,
        "nouvelle@example.org",
    )
    organisation = AuditEvent.objects.get(action="account.organisation_changed")
    assert organisation.actor == superuser and organisation.target_user == target
    assert organisation.changes["organisation"] == {
        "label": "organisation représentée",
        "before": world.organisations["prefecture"].pk,
        "after": ville.pk,
        "before_label": "Préfecture",
        "after_label": "Ville de Manosque",
    }
    assert organisation.target_label == str(target) + " (plenier)"
    assert organisation.at.utcoffset() == timedelta(0)  # stored in UTC


def test_it_writes_nothing_when_nothing_changes(superuser, personas):
    police = personas["police"]
    assert user_change_access(user=police, by=superuser, role=Role.PARTNER) == []
    assert not AuditEvent.objects.exists()


def test_it_lets_the_admin_manage_an_ordinary_account(technical_admin, personas, world):
    police = personas["police"]
    events = user_change_access(
        user=police,
        by=technical_admin,
        role=Role.ELECTED,
        organisation=world.organisations["ville"],
        email="nouvelle@example.org",
        is_active=False,
    )
    assert len(events) == 4
    assert all(e.actor == technical_admin for e in events)


def test_it_lets_the_admin_change_its_own_email(technical_admin):
    events = user_change_access(user=technical_admin, by=technical_admin, email="moi@example.org")
    assert [e.action for e in events] == ["account.email_changed"]


def test_it_validates_values_in_french(superuser, personas):
    police = personas["police"]
    with pytest.raises(ValidationError, match="rôle"):
        user_change_access(user=police, by=superuser, role="dictator")
    with pytest.raises(ValidationError, match="adresse"):
        user_change_access(user=police, by=superuser, email="pas-une-adresse")
    assert not AuditEvent.objects.exists()


def test_it_refuses_someone_without_the_model_permission(personas):
    with pytest.raises(PermissionDenied):
        user_change_access(user=personas["police"], by=personas["coordination"], is_active=False)


def test_it_audits_the_creation_of_an_account(technical_admin, world):
    user = user_create(
        by=technical_admin,
        username="nouvelle",
        email="nouvelle@example.org",
        role=Role.PARTNER,
        organisation=world.organisations["police"],
        password="un-mot-de-passe-solide",
    )
    assert user.check_password("un-mot-de-passe-solide")
    event = AuditEvent.objects.get()
    assert (event.action, event.actor, event.target_user) == (
        "account.created",
        technical_admin,
        user,
    )
    assert event.changes["role"]["after"] == Role.PARTNER
    assert event.changes["organisation"]["after_label"] == "Police nationale"
    assert event.changes["email"]["after"] == "nouvelle@example.org"


@pytest.mark.parametrize("change", [{"role": Role.COORDINATOR}, {"is_staff": True}])
def test_it_refuses_a_non_superuser_to_create_a_privileged_account(technical_admin, change):
    with pytest.raises(PermissionDenied, match="superutilisateur"):
        user_create(by=technical_admin, username="chef", password=None, **change)
    assert not User.objects.filter(username="chef").exists()


def test_it_creates_demo_accounts_without_an_actor(db):
    user = user_create(by=None, username="coordination", role=Role.COORDINATOR, password=None)
    event = AuditEvent.objects.get(target_user=user)
    assert event.actor is None
    assert event.actor_label == "Système"
    assert not user.has_usable_password()


def test_it_refuses_a_non_superuser_the_password_of_a_protected_account(technical_admin, personas):
    coordinator = personas["coordination"]
    before = _state(coordinator)
    with pytest.raises(PermissionDenied, match="superutilisateur"):
        user_set_password(user=coordinator, by=technical_admin, password="un-mot-de-pirate")
    with pytest.raises(PermissionDenied, match="votre compte"):
        user_set_password(user=technical_admin, by=technical_admin, password="un-autre-mot")
    assert _state(coordinator) == before


def test_it_audits_a_password_set_by_someone_else(technical_admin, personas):
    police = personas["police"]
    user_set_password(user=police, by=technical_admin, password="un-mot-provisoire")
    assert User.objects.get(pk=police.pk).check_password("un-mot-provisoire")
    event = AuditEvent.objects.get()
    assert (event.action, event.actor, event.target_user) == (
        "account.password_set",
        technical_admin,
        police,
    )
    assert "un-mot-provisoire" not in str(event.changes)
