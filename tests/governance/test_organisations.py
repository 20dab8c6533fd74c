"""Organisations that carry the plan: never deleted behind its back, archived instead."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Permission
from django.db.models import ProtectedError
from django.urls import reverse
from django.utils import timezone

from actions.models import Action, StatusUpdate
from actions.services import action_update_status
from clspdr.models import Role, User
from governance.models import Organisation
from tests.factories import OrganisationFactory

CHANGELIST = reverse("admin:governance_organisation_changelist")
PROTECTED = "provoquerait la suppression des objets liés et protégés suivants"


@pytest.fixture
def technical_admin(personas) -> User:
    """The demo's technical administrator: staff, not superuser, every governance permission."""
    user = personas["admin"]
    user.user_permissions.set(
        Permission.objects.filter(content_type__app_label__in=("clspdr", "governance"))
    )
    return User.objects.get(pk=user.pk)  # fresh permission cache


def _contributor_ids(action: Action) -> set[int]:
    return set(action.contributors.values_list("pk", flat=True))


def _archive(organisation: Organisation) -> None:
    Organisation.objects.filter(pk=organisation.pk).update(archived_at=timezone.now())
    organisation.refresh_from_db()


# --- Deletion -------------------------------------------------------------------------------


def test_it_refuses_to_delete_an_organisation_that_contributes_to_an_action(world):
    landlord = world.organisations["bailleur"]  # contributes to "ville_led", leads nothing
    action = world.actions["ville_led"]
    with pytest.raises(ProtectedError):
        landlord.delete()
    assert _contributor_ids(action) == {landlord.pk}


def test_it_refuses_to_delete_a_contributing_organisation_in_the_admin(
    client, technical_admin, world
):
    landlord = world.organisations["bailleur"]
    client.force_login(technical_admin)
    url = reverse("admin:governance_organisation_delete", args=[landlord.pk])
    response = client.post(url, {"post": "yes"})
    assert response.status_code == 200
    html = response.content.decode()
    assert PROTECTED in html
    assert "contribue à l’action" in html or "contribue à l&#x27;action" in html
    assert "archivez-la plutôt" in html
    assert Organisation.objects.filter(pk=landlord.pk).exists()
    assert _contributor_ids(world.actions["ville_led"]) == {landlord.pk}


def test_it_refuses_the_bulk_delete_of_carrying_organisations(client, technical_admin, world):
    landlord, police = world.organisations["bailleur"], world.organisations["police"]
    client.force_login(technical_admin)
    response = client.post(
        CHANGELIST,
        {"action": "delete_selected", "_selected_action": [landlord.pk, police.pk], "post": "yes"},
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "<h1>Impossible de supprimer organisations</h1>" in html
    assert "provoquerait la suppression des objets liés et protégés suivants" in html
    assert "archivez-la plutôt" in html
    assert Organisation.objects.filter(pk__in=[landlord.pk, police.pk]).count() == 2
    assert _contributor_ids(world.actions["ville_led"]) == {landlord.pk}


def test_it_still_deletes_an_organisation_that_carries_nothing(client, technical_admin, world):
    unused = OrganisationFactory(name="Association dissoute")
    client.force_login(technical_admin)
    url = reverse("admin:governance_organisation_delete", args=[unused.pk])
    assert client.post(url, {"post": "yes"}).status_code == 302
    assert not Organisation.objects.filter(pk=unused.pk).exists()


# --- Archive --------------------------------------------------------------------------------


def test_it_archives_an_organisation_instead(client, technical_admin, world):
    landlord = world.organisations["bailleur"]
    client.force_login(technical_admin)
    response = client.post(
        CHANGELIST, {"action": "archive", "_selected_action": [landlord.pk]}, follow=True
    )
    assert "1 organisation archivée." in response.content.decode()
    landlord.refresh_from_db()
    assert landlord.is_archived
    # still there, still contributing
    assert _contributor_ids(world.actions["ville_led"]) == {landlord.pk}
    archived = client.get(CHANGELIST, {"archivee": "oui"}).content.decode()
    active = client.get(CHANGELIST, {"archivee": "non"}).content.decode()
    assert "Habitations de Haute-Provence" in archived
    assert "Habitations de Haute-Provence" not in active
    client.post(CHANGELIST, {"action": "unarchive", "_selected_action": [landlord.pk]})
    landlord.refresh_from_db()
    assert not landlord.is_archived


def test_it_keeps_the_partners_rights_when_their_organisation_is_archived(world, personas):
    police = personas["police"]
    _archive(world.organisations["police"])
    action = world.actions["police_led"]
    assert Action.objects.updatable_by(police).filter(pk=action.pk).exists()
    action_update_status(
        action=action, by=police, status="in_progress", progress=10, expected_version=1
    )
    assert StatusUpdate.objects.filter(action=action, author=police).exists()


def test_it_no_longer_offers_an_archived_organisation_for_a_new_account(
    client, technical_admin, world
):
    prefecture = world.organisations["prefecture"]
    _archive(prefecture)
    client.force_login(technical_admin)
    found = client.get(
        reverse("admin:autocomplete"),
        {"app_label": "clspdr", "model_name": "user", "field_name": "organisation", "term": ""},
    ).json()
    names = {result["text"] for result in found["results"]}
    assert "Police nationale" in names
    assert "Préfecture" not in names
    response = client.post(
        reverse("admin:clspdr_user_add"),
        {
            "username": "nouveau",
            "role": Role.PARTNER,
            "organisation": str(prefecture.pk),
            "usable_password": "false",
        },
    )
    assert response.status_code == 200
    assert "Cette organisation est archivée" in response.content.decode()
    assert not User.objects.filter(username="nouveau").exists()


def test_it_keeps_an_archived_organisation_on_the_accounts_that_have_it(
    client, technical_admin, world, personas
):
    plenier = personas["plenier"]  # represents the prefecture
    _archive(world.organisations["prefecture"])
    client.force_login(technical_admin)
    response = client.post(
        reverse("admin:clspdr_user_change", args=[plenier.pk]),
        {
            "username": plenier.username,
            "first_name": plenier.first_name,
            "last_name": "Nouveau-Nom",
            "email": plenier.email,
            "job_title": plenier.job_title,
            "role": plenier.role,
            "organisation": str(plenier.organisation_id),
            "is_active": "on",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    plenier.refresh_from_db()
    assert plenier.last_name == "Nouveau-Nom"
    assert plenier.organisation == world.organisations["prefecture"]


def test_it_labels_archived_organisations_in_the_list_filter(world, personas, login):
    _archive(world.organisations["bailleur"])
    html = login(personas["elu"]).get(reverse("actions:list")).content.decode()
    landlord = world.organisations["bailleur"].pk
    assert re.search(
        rf'<option value="{landlord}">Habitations de Haute-Provence \(archivée\)', html
    )
    police = world.organisations["police"].pk
    assert f'<option value="{police}">Police nationale</option>' in html
