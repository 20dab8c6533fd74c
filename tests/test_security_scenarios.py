"""Security scenarios the code answers and no other test proved (docs/security.md, section
"Requirements and scenarios, one by one"). Each test names its scenario ID in its docstring."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.db import OperationalError
from django.urls import reverse

from actions.models import Action, StatusUpdate
from clspdr.models import Role
from clspdr.permissions import has_perm
from tests.factories import PASSWORD, UserFactory

ROOT = Path(__file__).resolve().parent.parent


def test_it_rolls_back_a_status_update_cut_by_a_database_error(world, personas, login, monkeypatch):
    """T-49: the database fails half-way through a write: the answer is the generic 500 page,
    with nothing the person typed in it, and the half already written is rolled back."""
    action = world.actions["police_led"]
    before = Action.objects.values("status", "progress", "version").get(pk=action.pk)

    def connection_lost(**kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(StatusUpdate.objects, "create", connection_lost)
    client = login(personas["police"])
    client.raise_request_exception = False
    response = client.post(
        reverse("actions:update_status", args=[action.pk]),
        {"status": "in_progress", "progress": "40", "comment": "Texte-saisi-123", "version": "1"},
    )

    assert response.status_code == 500
    html = response.content.decode()
    assert "Erreur du serveur" in html
    assert "Texte-saisi-123" not in html and "server closed" not in html
    assert Action.objects.values("status", "progress", "version").get(pk=action.pk) == before
    assert not StatusUpdate.objects.exists()


def test_it_grants_no_action_through_a_global_permission(world, personas):
    """T-03 (for the plan): a model-wide permission is no exception. Only per-object grants
    (django-guardian) and the organisation's own actions let a partner update an action."""
    from django.contrib.auth.models import Permission

    plenier = personas["plenier"]
    plenier.user_permissions.add(Permission.objects.get(codename="update_action_status"))
    plenier = type(plenier).objects.get(pk=plenier.pk)  # drop Django's permission cache
    assert plenier.has_perm("actions.update_action_status")  # Django would say yes
    for action in world.actions.values():
        assert not has_perm(plenier, "action.update_status", action)
    assert not Action.objects.updatable_by(plenier).exists()


def test_it_gives_a_superuser_without_the_coordinator_role_no_write_on_the_plan(world):
    """T-03 (for the plan): being a superuser grants nothing through the vocabulary; the role
    and the organisation decide."""
    root = UserFactory(username="root", role=Role.ADMIN, is_staff=True, is_superuser=True)
    for action in world.actions.values():
        assert not has_perm(root, "action.update_status", action)
        assert not has_perm(root, "action.edit", action)


def test_it_asks_the_old_password_before_changing_it(client, db):
    """T-33: changing the password needs the current one, even inside an open session."""
    camille = UserFactory(username="camille")
    client.force_login(camille)
    new = "un-autre-mot-de-passe-solide"
    response = client.post(
        reverse("account_change_password"),
        {"oldpassword": "pas-le-bon-mot-de-passe", "password1": new, "password2": new},
    )
    assert response.status_code == 200  # the form again, with its error
    camille.refresh_from_db()
    assert camille.check_password(PASSWORD)
    assert not camille.check_password(new)


@pytest.mark.parametrize(
    "promise",
    [
        "## 1. Hosting: declare who hosts the data (LEG-15)",
        "**Self-managed**",
        "**Third-party host**",
        "The provider **must be certified HDS**",
        "Declaration for this deployment:",
    ],
)
def test_it_asks_the_commune_to_declare_who_hosts_the_data(promise):
    """LEG-15: the deployment guide makes the commune state whether hosting is self-managed or
    third-party, and that a third party must be HDS-certified."""
    assert promise in (ROOT / "docs" / "deployment.md").read_text(encoding="utf-8")
