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
        obj = model.objects.first()
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
