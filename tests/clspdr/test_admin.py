"""The Django admin for the technical administrator: staff with model permissions, never superuser."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.urls import reverse
from pytest_django.asserts import assertRedirects

from actions.models import Action, Status
from actions.services import action_update_status
from clspdr.models import Role, User
from tests.factories import UserFactory

ADMIN_INDEX = reverse("admin:index")
OUR_APPS = ("clspdr", "governance", "axes", "actions")


@pytest.fixture
def technical_admin(personas) -> User:
    user = personas["admin"]
    assert user.role == Role.ADMIN and user.is_staff and not user.is_superuser
    user.user_permissions.set(Permission.objects.filter(content_type__app_label__in=OUR_APPS))
    return User.objects.get(pk=user.pk)  # fresh permission cache


def _registered_models():
    return [m for m in admin.site._registry if m._meta.app_label in OUR_APPS]


def test_it_registers_the_reference_data(db):
    names = {m._meta.model_name for m in _registered_models()}
    assert {"user", "organisation", "body", "membership", "strategy", "axis", "action"} <= names


def test_it_opens_the_admin_to_the_technical_administrator(client, technical_admin):
    client.force_login(technical_admin)
    response = client.get(ADMIN_INDEX)
    assert response.status_code == 200
    html = response.content.decode()
    for label in ("Utilisateurs", "Organisations", "Instances", "Actions", "Axes"):
        assert label in html, label


@pytest.mark.parametrize("persona", ["police", "coordination", "elu", "outsider"])
def test_it_sends_non_staff_people_to_the_admin_login(login, personas, persona):
    response = login(personas[persona]).get(ADMIN_INDEX)
    assertRedirects(
        response, f"{reverse('admin:login')}?next={ADMIN_INDEX}", fetch_redirect_response=False
    )


def test_it_opens_every_list_add_and_change_page(client, technical_admin, world):
    client.force_login(technical_admin)
    for model in _registered_models():
        opts = model._meta
        changelist = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        assert client.get(changelist).status_code == 200, changelist
        # What the admin lists, not any row: cell memberships are out of its reach.
        request = _request_for(technical_admin)
        obj = admin.site._registry[model].get_queryset(request).order_by("pk").first()
        if obj is not None:
            change = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
            assert client.get(change).status_code == 200, change
        if admin.site._registry[model].has_add_permission(_request_for(technical_admin)):
            add = reverse(f"admin:{opts.app_label}_{opts.model_name}_add")
            assert client.get(add).status_code == 200, add


def _request_for(user: User):
    from django.test import RequestFactory

    request = RequestFactory().get("/")
    request.user = user
    return request


def test_it_searches_users_without_one_query_per_row(
    client, technical_admin, personas, django_assert_max_num_queries
):
    client.force_login(technical_admin)
    with django_assert_max_num_queries(12):
        response = client.get(reverse("admin:clspdr_user_changelist"), {"q": "a"})
    assert response.status_code == 200


def _user_form_data(user: User, **changes) -> dict[str, str]:
    data = {
        "username": user.username,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "job_title": user.job_title,
        "role": user.role,
        "organisation": str(user.organisation_id or ""),
        "is_active": "on",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def test_it_lets_the_admin_set_a_role_and_an_organisation(client, technical_admin, world):
    target = UserFactory(username="nouveau")
    client.force_login(technical_admin)
    url = reverse("admin:clspdr_user_change", args=[target.pk])
    response = client.post(
        url,
        _user_form_data(
            target, role=Role.PARTNER, organisation=str(world.organisations["police"].pk)
        ),
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    target.refresh_from_db()
    assert target.role == Role.PARTNER
    assert target.organisation == world.organisations["police"]


def test_it_never_lets_the_admin_grant_superuser_or_permissions(client, technical_admin):
    target = UserFactory(username="ambitieux")
    client.force_login(technical_admin)
    for pk in (target.pk, technical_admin.pk):
        user = User.objects.get(pk=pk)
        url = reverse("admin:clspdr_user_change", args=[pk])
        data = _user_form_data(user, is_staff="on", is_superuser="on")
        data["user_permissions"] = str(Permission.objects.get(codename="delete_user").pk)
        assert client.post(url, data).status_code == 302
        user.refresh_from_db()
        assert not user.is_superuser
    assert not target.user_permissions.exists()


def test_it_keeps_superusers_out_of_the_admins_reach(client, technical_admin):
    root = UserFactory(username="root", is_superuser=True, is_staff=True)
    client.force_login(technical_admin)
    change = reverse("admin:clspdr_user_change", args=[root.pk])
    response = client.post(change, _user_form_data(root, email="pirate@example.org"))
    assert response.status_code == 403
    password = reverse("admin:auth_user_password_change", args=[root.pk])
    new = "un-mot-de-passe-de-pirate"
    assert client.post(password, {"password1": new, "password2": new}).status_code == 403
    root.refresh_from_db()
    assert root.email != "pirate@example.org"
    assert not root.check_password(new)


def test_it_ends_access_at_the_next_request_when_an_account_is_deactivated(
    client, login, technical_admin, personas
):
    """T-32: Django re-checks `is_active` on every request (ModelBackend.get_user)."""
    police = personas["police"]
    partner = login(police)
    assert partner.get(reverse("home")).status_code == 200
    police.is_active = False
    police.save()
    assert partner.get(reverse("home")).status_code == 302


def test_it_leaves_the_sheet_status_and_progress_to_their_services(client, technical_admin, world):
    action = world.actions["police_led"]
    client.force_login(technical_admin)
    form = client.get(reverse("admin:actions_action_change", args=[action.pk])).content.decode()
    for field in ("status", "progress", "title", "description", "lead_organisation", "amount"):
        assert f'name="{field}"' not in form, field
    for field in ("axis", "number", "position"):
        assert f'name="{field}"' in form, field


def test_it_creates_an_action_with_its_first_sheet(client, technical_admin, world):
    client.force_login(technical_admin)
    form = client.get(reverse("admin:actions_action_add")).content.decode()
    assert 'name="title"' in form and 'name="status"' not in form


def test_it_bumps_the_version_when_the_admin_renumbers_an_action(client, technical_admin, world):
    action = Action.objects.get(pk=world.actions["police_led"].pk)
    client.force_login(technical_admin)
    url = reverse("admin:actions_action_change", args=[action.pk])
    data = {
        "axis": str(action.axis_id),
        "number": "12",
        "position": "12",
        "sublists-TOTAL_FORMS": "0",
        "sublists-INITIAL_FORMS": "0",
        "fundings-TOTAL_FORMS": "0",
        "fundings-INITIAL_FORMS": "0",
        "title": "Ignoré : la fiche se modifie ailleurs",
        "status": Status.DONE,
        "progress": "100",
    }
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:3000]
    fresh = Action.objects.get(pk=action.pk)
    assert (fresh.number, fresh.position) == ("12", 12)
    assert fresh.version == action.version + 1
    assert fresh.title == action.title
    assert (fresh.status, fresh.progress) == (action.status, action.progress)


def test_it_moves_the_history_with_an_action_moved_to_another_strategy(
    client, technical_admin, world, personas
):
    from actions.models import StatusUpdate
    from tests.factories import AxisFactory, StatusUpdateFactory, StrategyFactory

    action = Action.objects.get(pk=world.actions["police_led"].pk)
    update = StatusUpdateFactory(action=action, author=personas["police"])
    other = AxisFactory(strategy=StrategyFactory(slug="manosque-2028-2032"), number=2)
    client.force_login(technical_admin)
    url = reverse("admin:actions_action_change", args=[action.pk])
    data = {
        "axis": str(other.pk),
        "number": action.number,
        "position": str(action.position),
        "sublists-TOTAL_FORMS": "0",
        "sublists-INITIAL_FORMS": "0",
        "fundings-TOTAL_FORMS": "0",
        "fundings-INITIAL_FORMS": "0",
    }
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:3000]
    # the strategy's "latest updates" now count it with its new strategy
    assert StatusUpdate.objects.get(pk=update.pk).strategy_id == other.strategy_id


def test_it_refuses_to_delete_an_action_that_has_history(client, technical_admin, world, personas):
    action = world.actions["police_led"]
    action_update_status(
        action=action,
        by=personas["coordination"],
        status=Status.IN_PROGRESS,
        progress=10,
        expected_version=action.version,
    )
    client.force_login(technical_admin)
    url = reverse("admin:actions_action_delete", args=[action.pk])
    assert client.post(url, {"post": "yes"}).status_code == 403
    assert Action.objects.filter(pk=action.pk).exists()


# --- Separation of duties: the technical administrator manages accounts, nothing more --------
# (issue 6 point 1; docs/security.md "Separation of duties: the technical administrator")


@pytest.fixture
def superuser(db) -> User:
    return UserFactory.create(username="racine", is_superuser=True, is_staff=True)


def _fields_of(html: str) -> set[str]:
    import re

    return set(re.findall(r'name="([^"]+)"', html))


def _role_options(html: str) -> set[str]:
    import re

    select = re.search(r'<select name="role".*?</select>', html, re.S)
    assert select, "no role select in the form"
    return set(re.findall(r'<option value="([^"]+)"', select.group(0)))


def test_it_refuses_the_admin_its_own_promotion_to_coordinator(client, technical_admin, world):
    """The attack of issue 6: POST role=coordinator on its own account, then edit a sheet."""
    client.force_login(technical_admin)
    url = reverse("admin:clspdr_user_change", args=[technical_admin.pk])
    data = _user_form_data(technical_admin, role=Role.COORDINATOR, is_staff="on")
    data["organisation"] = str(world.organisations["ville"].pk)
    client.post(url, data)
    technical_admin.refresh_from_db()
    assert technical_admin.role == Role.ADMIN
    assert technical_admin.organisation is None
    edit = reverse("actions:edit", args=[world.actions["police_led"].pk])
    assert client.get(edit).status_code == 403


@pytest.mark.parametrize("who", ["technical_admin", "superuser"])
def test_it_never_lets_anyone_change_their_own_access(client, request, world, who):
    me = request.getfixturevalue(who)
    client.force_login(me)
    url = reverse("admin:clspdr_user_change", args=[me.pk])
    form = client.get(url).content.decode()
    assert not {"role", "organisation", "is_staff", "is_active"} & _fields_of(form)
    police = str(world.organisations["police"].pk)
    data = _user_form_data(me, role=Role.PARTNER, organisation=police, is_active=None)
    client.post(url, data)
    fresh = User.objects.get(pk=me.pk)
    assert (fresh.role, fresh.organisation_id, fresh.is_staff, fresh.is_active) == (
        me.role,
        me.organisation_id,
        me.is_staff,
        me.is_active,
    )


def test_it_offers_no_privileged_role_to_a_non_superuser(client, technical_admin, personas):
    client.force_login(technical_admin)
    ordinary = personas["police"]
    add = client.get(reverse("admin:clspdr_user_add")).content.decode()
    change = client.get(reverse("admin:clspdr_user_change", args=[ordinary.pk])).content.decode()
    for html in (add, change):
        assert _role_options(html) == {Role.MEMBER, Role.PARTNER, Role.ELECTED}


def test_it_offers_every_role_to_the_superuser(client, superuser, personas):
    client.force_login(superuser)
    add = client.get(reverse("admin:clspdr_user_add")).content.decode()
    assert _role_options(add) == set(Role.values)


@pytest.mark.parametrize("role", [Role.COORDINATOR, Role.ADMIN, Role.DPO])
def test_it_refuses_the_admin_to_grant_a_privileged_role(client, technical_admin, role):
    target = UserFactory(username="ordinaire")
    client.force_login(technical_admin)
    url = reverse("admin:clspdr_user_change", args=[target.pk])
    response = client.post(url, _user_form_data(target, role=role))
    assert response.status_code == 200  # the form says which choice is refused
    target.refresh_from_db()
    assert target.role == Role.MEMBER


@pytest.mark.parametrize("role", [Role.COORDINATOR, Role.ADMIN, Role.DPO])
def test_it_refuses_the_admin_to_create_a_privileged_account(client, technical_admin, role):
    client.force_login(technical_admin)
    response = client.post(
        reverse("admin:clspdr_user_add"),
        {
            "username": "nouveau-chef",
            "email": "chef@example.org",
            "role": role,
            "usable_password": "true",
            "password1": "un-mot-de-passe-solide",
            "password2": "un-mot-de-passe-solide",
        },
    )
    assert response.status_code == 200
    assert not User.objects.filter(username="nouveau-chef").exists()


def test_it_lets_the_admin_create_an_ordinary_account_and_audits_it(client, technical_admin, world):
    from clspdr.models import AuditEvent

    client.force_login(technical_admin)
    police = world.organisations["police"]
    response = client.post(
        reverse("admin:clspdr_user_add"),
        {
            "username": "nouvelle-referente",
            "email": "referente@example.org",
            "role": Role.PARTNER,
            "organisation": str(police.pk),
            "usable_password": "true",
            "password1": "un-mot-de-passe-solide",
            "password2": "un-mot-de-passe-solide",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    created = User.objects.get(username="nouvelle-referente")
    assert (created.role, created.organisation, created.is_staff) == (Role.PARTNER, police, False)
    assert created.check_password("un-mot-de-passe-solide")
    event = AuditEvent.objects.get(target_user=created)
    assert (event.action, event.actor) == ("account.created", technical_admin)
    assert event.changes["role"]["after_label"] == "Référent partenaire"
    assert event.changes["organisation"]["after_label"] == "Police nationale"


def test_it_audits_the_role_and_organisation_the_admin_sets(client, technical_admin, world):
    from clspdr.models import AuditEvent

    target = UserFactory.create(username="nouveau")
    client.force_login(technical_admin)
    police = world.organisations["police"]
    url = reverse("admin:clspdr_user_change", args=[target.pk])
    data = _user_form_data(target, role=Role.PARTNER, organisation=str(police.pk))
    assert client.post(url, data).status_code == 302
    events = {e.action: e for e in AuditEvent.objects.filter(target_user=target)}
    assert set(events) == {"account.role_changed", "account.organisation_changed"}
    role = events["account.role_changed"].changes["role"]
    assert (role["before"], role["after"]) == (Role.MEMBER, Role.PARTNER)
    assert events["account.organisation_changed"].changes["organisation"]["after"] == police.pk
    assert all(e.actor == technical_admin for e in events.values())


@pytest.mark.parametrize("persona", ["coordination", "admin_colleague", "dpo"])
def test_it_keeps_privileged_and_staff_accounts_out_of_the_admins_reach(
    client, technical_admin, personas, world, persona
):
    target = {
        "coordination": lambda: personas["coordination"],
        "admin_colleague": lambda: UserFactory(username="collegue", role=Role.ADMIN, is_staff=True),
        "dpo": lambda: UserFactory(username="dpd", role=Role.DPO),
    }[persona]()
    before = User.objects.get(pk=target.pk)
    client.force_login(technical_admin)
    url = reverse("admin:clspdr_user_change", args=[target.pk])
    form = client.get(url).content.decode()
    assert not {"role", "organisation", "email", "is_active", "is_staff"} & _fields_of(form)
    data = _user_form_data(
        target,
        email="pirate@example.org",
        role=Role.MEMBER,
        organisation=str(world.organisations["police"].pk),
        is_active=None,
    )
    client.post(url, data)
    fresh = User.objects.get(pk=target.pk)
    for field in ("email", "role", "organisation_id", "is_active", "is_staff"):
        assert getattr(fresh, field) == getattr(before, field), field


@pytest.mark.parametrize("persona", ["coordination", "admin_colleague", "dpo"])
def test_it_refuses_the_admin_the_password_of_a_privileged_or_staff_account(
    client, technical_admin, personas, persona
):
    target = {
        "coordination": lambda: personas["coordination"],
        "admin_colleague": lambda: UserFactory(username="collegue", role=Role.ADMIN, is_staff=True),
        "dpo": lambda: UserFactory(username="dpd", role=Role.DPO),
    }[persona]()
    client.force_login(technical_admin)
    url = reverse("admin:auth_user_password_change", args=[target.pk])
    assert client.get(url).status_code == 403
    new = "un-mot-de-passe-de-pirate"
    data = {"password1": new, "password2": new, "usable_password": "true"}
    assert client.post(url, data).status_code == 403
    assert client.post(url, {"usable_password": "false", "unset-password": "1"}).status_code == 403
    target.refresh_from_db()
    assert not target.check_password(new)
    assert target.has_usable_password()


def test_it_sends_the_admin_to_its_account_page_for_its_own_password(
    client, technical_admin, password
):
    client.force_login(technical_admin)
    url = reverse("admin:auth_user_password_change", args=[technical_admin.pk])
    new = "un-nouveau-mot-de-passe"
    response = client.post(url, {"password1": new, "password2": new, "usable_password": "true"})
    assertRedirects(response, reverse("account_change_password"), fetch_redirect_response=False)
    technical_admin.refresh_from_db()
    assert technical_admin.check_password(password)


def test_it_lets_the_admin_set_an_ordinary_password_and_audits_it(
    client, technical_admin, personas
):
    from clspdr.models import AuditEvent

    police = personas["police"]
    client.force_login(technical_admin)
    url = reverse("admin:auth_user_password_change", args=[police.pk])
    new = "un-mot-de-passe-provisoire"
    response = client.post(url, {"password1": new, "password2": new, "usable_password": "true"})
    assert response.status_code == 302
    police.refresh_from_db()
    assert police.check_password(new)
    event = AuditEvent.objects.get(target_user=police)
    assert (event.action, event.actor) == ("account.password_set", technical_admin)
    assert new not in str(event.changes)


def test_it_lets_only_a_superuser_change_the_staff_flag(client, technical_admin, superuser):
    target = UserFactory(username="futur-admin")
    client.force_login(technical_admin)
    url = reverse("admin:clspdr_user_change", args=[target.pk])
    client.post(url, _user_form_data(target, is_staff="on"))
    target.refresh_from_db()
    assert not target.is_staff
    client.force_login(superuser)
    assert client.post(url, _user_form_data(target, is_staff="on")).status_code == 302
    target.refresh_from_db()
    assert target.is_staff


def test_it_lets_the_superuser_grant_the_coordinator_role_and_audits_it(
    client, superuser, personas
):
    from clspdr.models import AuditEvent

    target = personas["plenier"]
    client.force_login(superuser)
    url = reverse("admin:clspdr_user_change", args=[target.pk])
    response = client.post(url, _user_form_data(target, role=Role.COORDINATOR))
    assert response.status_code == 302, response.content.decode()[:2000]
    target.refresh_from_db()
    assert target.role == Role.COORDINATOR
    event = AuditEvent.objects.get(target_user=target)
    assert (event.action, event.actor) == ("account.role_changed", superuser)
    role = event.changes["role"]
    assert (role["before_label"], role["after_label"]) == (
        "Membre d'instance",
        "Coordinateur CLSPDR",
    )


def test_it_lets_the_admin_deactivate_an_ordinary_account_and_audits_it(
    client, technical_admin, personas
):
    from clspdr.models import AuditEvent

    police = personas["police"]
    client.force_login(technical_admin)
    url = reverse("admin:clspdr_user_change", args=[police.pk])
    assert client.post(url, _user_form_data(police, is_active=None)).status_code == 302
    police.refresh_from_db()
    assert not police.is_active
    event = AuditEvent.objects.get(target_user=police)
    assert event.action == "account.active_changed"
    assert (event.changes["is_active"]["before"], event.changes["is_active"]["after"]) == (
        True,
        False,
    )


def test_it_refuses_the_admin_to_delete_a_privileged_account(client, technical_admin, personas):
    coordinator = personas["coordination"]
    client.force_login(technical_admin)
    url = reverse("admin:clspdr_user_delete", args=[coordinator.pk])
    assert client.post(url, {"post": "yes"}).status_code == 403
    assert User.objects.filter(pk=coordinator.pk).exists()


def test_it_keeps_an_account_with_history_deactivated_not_deleted(
    client, technical_admin, superuser, personas
):
    from clspdr.accounts import user_change_access

    police = personas["police"]
    user_change_access(user=police, by=superuser, is_active=False)
    client.force_login(superuser)
    url = reverse("admin:clspdr_user_delete", args=[police.pk])
    assert client.post(url, {"post": "yes"}).status_code == 403
    assert User.objects.filter(pk=police.pk).exists()


def test_it_keeps_groups_for_the_superuser(client, technical_admin, superuser):
    from django.contrib.auth.models import Group

    from clspdr.demo import ADMIN_GROUP

    group = Group.objects.get(name=ADMIN_GROUP)  # the admin's own group (tests/conftest.py)
    granted = set(group.permissions.all())
    technical_admin.user_permissions.add(*Permission.objects.filter(content_type__app_label="auth"))
    admin_user = User.objects.get(pk=technical_admin.pk)
    client.force_login(admin_user)
    change = reverse("admin:auth_group_change", args=[group.pk])
    everything = [str(pk) for pk in Permission.objects.values_list("pk", flat=True)]
    response = client.post(change, {"name": group.name, "permissions": everything})
    assert response.status_code == 403
    assert set(group.permissions.all()) == granted
    assert client.get(reverse("admin:auth_group_changelist")).status_code == 403
    assert client.get(reverse("admin:auth_group_add")).status_code == 403
    client.force_login(superuser)
    assert client.get(change).status_code == 200


# --- Memberships: the cells' are not managed in the admin ------------------------------------


def _membership_data(body, user, **changes) -> dict[str, str]:
    data = {
        "body": str(body.pk),
        "user": str(user.pk),
        "role": "member",
        "start_date": "2026-01-05",
    }
    data.update(changes)
    return data


@pytest.mark.parametrize("cell", ["watch_cell", "complex_cell"])
def test_it_refuses_to_enrol_anyone_in_a_cell_through_the_admin(
    client, technical_admin, superuser, personas, world, cell
):
    from governance.models import Membership

    body = world.bodies[cell]
    for who in (technical_admin, superuser):
        client.force_login(who)
        for member in (technical_admin, personas["police"]):
            client.post(reverse("admin:governance_membership_add"), _membership_data(body, member))
    assert not Membership.objects.filter(
        body=body, user__in=[technical_admin, personas["police"]]
    ).exists()


def test_it_never_shows_cell_memberships_in_the_admin(client, technical_admin, personas, world):
    from governance.models import Membership

    cell_membership = Membership.objects.get(user=personas["veille"])
    plenary_membership = Membership.objects.get(user=personas["plenier"])
    client.force_login(technical_admin)
    listing = client.get(reverse("admin:governance_membership_changelist")).content.decode()
    change = reverse("admin:governance_membership_change", args=[cell_membership.pk])
    assert change not in listing
    assert str(personas["veille"]) not in listing
    assert reverse("admin:governance_membership_change", args=[plenary_membership.pk]) in listing
    response = client.get(change)
    assert response.status_code == 302  # "does not exist", like any object out of reach
    client.post(change, _membership_data(world.bodies["plenary"], personas["veille"]))
    delete = reverse("admin:governance_membership_delete", args=[cell_membership.pk])
    client.post(delete, {"post": "yes"})
    cell_membership.refresh_from_db()
    assert cell_membership.body == world.bodies["watch_cell"]


def test_it_refuses_to_move_a_membership_into_a_cell(client, technical_admin, personas, world):
    from governance.models import Membership

    membership = Membership.objects.get(user=personas["plenier"])
    client.force_login(technical_admin)
    url = reverse("admin:governance_membership_change", args=[membership.pk])
    response = client.post(url, _membership_data(world.bodies["watch_cell"], personas["plenier"]))
    assert response.status_code == 200
    membership.refresh_from_db()
    assert membership.body == world.bodies["plenary"]


def test_it_refuses_self_enrolment(client, technical_admin, world):
    from governance.models import Membership

    client.force_login(technical_admin)
    data = _membership_data(world.bodies["committee"], technical_admin)
    assert client.post(reverse("admin:governance_membership_add"), data).status_code == 200
    assert not Membership.objects.filter(user=technical_admin).exists()


def test_it_keeps_ordinary_memberships_manageable(client, technical_admin, personas, world):
    from governance.models import Membership

    client.force_login(technical_admin)
    data = _membership_data(world.bodies["committee"], personas["police"])
    assert client.post(reverse("admin:governance_membership_add"), data).status_code == 302
    assert Membership.objects.filter(user=personas["police"], body=world.bodies["committee"])


def test_it_shows_no_membership_inline_on_a_cell(client, technical_admin, personas, world):
    from governance.models import Membership

    client.force_login(technical_admin)
    cell = world.bodies["watch_cell"]
    url = reverse("admin:governance_body_change", args=[cell.pk])
    html = client.get(url).content.decode()
    assert "memberships-TOTAL_FORMS" not in html
    assert str(personas["veille"]) not in html
    plenary = reverse("admin:governance_body_change", args=[world.bodies["plenary"].pk])
    assert "memberships-TOTAL_FORMS" in client.get(plenary).content.decode()
    # a forged inline on the cell's page is ignored
    data = {
        "name": cell.name,
        "cadence": cell.cadence,
        "axis": str(cell.axis_id or ""),
        "description": cell.description,
        "memberships-TOTAL_FORMS": "1",
        "memberships-INITIAL_FORMS": "0",
        "memberships-0-user": str(technical_admin.pk),
        "memberships-0-role": "member",
        "memberships-0-start_date": "2026-01-05",
    }
    client.post(url, data)
    assert not Membership.objects.filter(user=technical_admin).exists()


def test_it_freezes_a_bodys_kind_once_created(client, technical_admin, world):
    from governance.models import BodyKind

    plenary = world.bodies["plenary"]
    client.force_login(technical_admin)
    url = reverse("admin:governance_body_change", args=[plenary.pk])
    assert 'name="kind"' not in client.get(url).content.decode()
    data = {
        "kind": BodyKind.WATCH_CELL,
        "name": plenary.name,
        "cadence": plenary.cadence,
        "axis": "",
        "description": plenary.description,
        "memberships-TOTAL_FORMS": "0",
        "memberships-INITIAL_FORMS": "0",
    }
    client.post(url, data)
    plenary.refresh_from_db()
    assert plenary.kind == BodyKind.PLENARY


def test_it_refuses_the_admin_to_delete_a_cell(client, technical_admin, world):
    from governance.models import Body

    cell = world.bodies["watch_cell"]
    client.force_login(technical_admin)
    url = reverse("admin:governance_body_delete", args=[cell.pk])
    assert client.post(url, {"post": "yes"}).status_code == 403
    assert Body.objects.filter(pk=cell.pk).exists()
