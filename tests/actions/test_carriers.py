"""Who carries an action (lead, contributors): changed only through the services, with a trace
in the action's history, and never to an archived organisation."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from actions.models import Action, CarrierChange
from actions.services import action_edit_sheet
from clspdr.models import User
from governance.models import Organisation
from tests.factories import StatusUpdateFactory

PARIS = dt.timezone(dt.timedelta(hours=1))  # November: Europe/Paris is UTC+1


def _edit_url(action: Action) -> str:
    return reverse("actions:edit", args=[action.pk])


def _sheet_url(action: Action) -> str:
    return reverse("actions:detail", args=[action.pk])


def _post_data(action: Action, **changes: Any) -> dict[str, Any]:
    """The editor's POST for `action` as it is (carriers included), with `changes`."""
    data: dict[str, Any] = {
        "version": str(action.version),
        "title": action.title,
        "lead_organisation": str(action.lead_organisation_id or ""),
        "contributors": [str(pk) for pk in action.contributors.values_list("pk", flat=True)],
        "fundings-TOTAL_FORMS": "0",
        "fundings-INITIAL_FORMS": "0",
    }
    data.update(changes)
    return data


def _archive(*organisations: Organisation) -> None:
    Organisation.objects.filter(pk__in=[o.pk for o in organisations]).update(
        archived_at=timezone.now()
    )
    for organisation in organisations:
        organisation.refresh_from_db()


def test_it_records_carrier_changes_in_the_history(world, personas, login):
    action = world.actions["police_led"]  # led by the police, the college contributes
    o = world.organisations
    coordinator = personas["coordination"]
    client = login(coordinator)
    response = client.post(
        _edit_url(action),
        _post_data(
            action,
            lead_organisation=str(o["ville"].pk),
            contributors=[str(o["prefecture"].pk), str(o["hopital"].pk)],
        ),
    )
    assert response.status_code == 302
    change = CarrierChange.objects.get(action=action)
    assert (change.author, change.author_organisation) == (coordinator, o["ville"])
    assert (change.previous_lead, change.lead) == ("Police nationale", "Ville de Manosque")
    assert change.added == ["Centre hospitalier", "Préfecture"]
    assert change.removed == ["Collège Jean Giono"]
    html = login(personas["plenier"]).get(_sheet_url(action)).content.decode()
    assert "Historique de l'action" in html
    assert "Pilote : Police nationale → Ville de Manosque" in html
    assert "Contributeurs ajoutés : Centre hospitalier, Préfecture" in html
    assert "Contributeurs retirés : Collège Jean Giono" in html
    assert f"<strong>{coordinator.get_full_name()}</strong> (Ville de Manosque)" in html


def test_it_merges_carrier_changes_and_status_updates_in_date_order(world, personas, login):
    action = world.actions["ville_led"]
    coordinator = personas["coordination"]
    day = dt.datetime(2026, 11, 25, 14, 5, tzinfo=PARIS)
    StatusUpdateFactory(action=action, author=coordinator, created_at=day, comment="Avant")
    action_edit_sheet(
        action=action,
        by=coordinator,
        data={"lead_organisation": None},
        expected_version=action.version,
        at=day + dt.timedelta(days=1),
    )
    StatusUpdateFactory(
        action=action, author=coordinator, created_at=day + dt.timedelta(days=2), comment="Après"
    )
    html = login(personas["elu"]).get(_sheet_url(action)).content.decode()
    lead_removed = html.index("Pilote : Ville de Manosque → aucun")
    assert html.index("Après") < lead_removed < html.index("Avant")
    assert "26 novembre 2026 à 14:05" in html


def test_it_records_nothing_when_the_carriers_stay_the_same(world, personas, login):
    action = world.actions["police_led"]
    client = login(personas["coordination"])
    response = client.post(_edit_url(action), _post_data(action, title="Nouvel intitulé"))
    assert response.status_code == 302
    action.refresh_from_db()
    assert action.title == "Nouvel intitulé" and action.version == 2
    assert not CarrierChange.objects.exists()


def test_it_records_a_change_made_through_the_service_alone(world, personas):
    action = Action.objects.select_related("axis__strategy").get(pk=world.actions["ville_led"].pk)
    action_edit_sheet(
        action=action,
        by=personas["coordination"],
        data={},
        contributors=[],
        expected_version=action.version,
    )
    change = CarrierChange.objects.get(action=action)
    assert not change.lead_changed
    assert (change.added, change.removed) == ([], ["Habitations de Haute-Provence"])
    assert not action.contributors.exists()


def test_it_refuses_an_archived_organisation_as_a_new_carrier(world, personas):
    action = world.actions["police_led"]
    o = world.organisations
    _archive(o["prefecture"])
    with pytest.raises(ValidationError) as error:
        action_edit_sheet(
            action=action,
            by=personas["coordination"],
            data={"lead_organisation": o["prefecture"]},
            contributors=[o["college"], o["hopital"]],  # adding an active one is fine
            expected_version=1,
        )
    assert error.value.message_dict == {
        "lead_organisation": [
            "« Préfecture » est archivée : elle ne peut plus être désignée pilote."
        ]
    }
    with pytest.raises(ValidationError, match="ne peut plus être ajoutée aux partenaires"):
        action_edit_sheet(
            action=action,
            by=personas["coordination"],
            data={},
            contributors=[o["college"], o["prefecture"]],
            expected_version=1,
        )
    action.refresh_from_db()
    assert action.version == 1 and action.lead_organisation == o["police"]
    assert not CarrierChange.objects.exists()


def test_it_offers_no_archived_organisation_in_the_sheet_editor(world, personas, login):
    action = world.actions["police_led"]
    o = world.organisations
    _archive(o["prefecture"])
    client = login(personas["coordination"])
    html = client.get(_edit_url(action)).content.decode()
    assert f'value="{o["prefecture"].pk}"' not in html
    assert f'value="{o["hopital"].pk}"' in html
    response = client.post(
        _edit_url(action), _post_data(action, contributors=[str(o["prefecture"].pk)])
    )
    assert response.status_code == 200
    assert "Sélectionnez un choix valide" in response.content.decode()
    assert not action.contributors.filter(pk=o["prefecture"].pk).exists()


def test_it_keeps_an_archived_carrier_when_the_sheet_is_saved_unchanged(world, personas, login):
    action = world.actions["police_led"]  # led by the police, the college contributes
    o = world.organisations
    _archive(o["police"], o["college"])
    client = login(personas["coordination"])
    html = client.get(_edit_url(action)).content.decode()
    assert re.search(
        rf'<option value="{o["police"].pk}" selected>Police nationale \(archivée\)', html
    )
    assert "Collège Jean Giono (archivée)" in html
    response = client.post(_edit_url(action), _post_data(action, title="Intitulé revu"))
    assert response.status_code == 302
    action.refresh_from_db()
    assert action.lead_organisation == o["police"]
    assert list(action.contributors.all()) == [o["college"]]
    assert not CarrierChange.objects.exists()


# --- The admin's add form ---------------------------------------------------------------


@pytest.fixture
def technical_admin(personas) -> User:
    user = personas["admin"]
    user.user_permissions.set(
        Permission.objects.filter(content_type__app_label__in=("actions", "governance", "axes"))
    )
    return User.objects.get(pk=user.pk)


def _admin_add_data(world, **changes: Any) -> dict[str, Any]:
    o = world.organisations
    data = {
        "axis": str(world.axes[0].pk),
        "number": "9",
        "position": "9",
        "title": "Action créée dans l'administration",
        "lead_organisation": str(o["police"].pk),
        "contributing_organisations": [str(o["college"].pk), str(o["hopital"].pk)],
        "start_date": "2024-01-01",
        "end_date": "2027-12-31",
        "sublists-TOTAL_FORMS": "0",
        "sublists-INITIAL_FORMS": "0",
        "fundings-TOTAL_FORMS": "0",
        "fundings-INITIAL_FORMS": "0",
    }
    data.update(changes)
    return data


def test_it_records_the_first_carriers_of_an_action_created_in_the_admin(
    client, technical_admin, world
):
    client.force_login(technical_admin)
    response = client.post(reverse("admin:actions_action_add"), _admin_add_data(world))
    assert response.status_code == 302, response.content.decode()[:3000]
    action = Action.objects.get(axis=world.axes[0], number="9")
    o = world.organisations
    assert action.lead_organisation == o["police"]
    assert set(action.contributors.all()) == {o["college"], o["hopital"]}
    assert (action.version, action.modified_by) == (1, technical_admin)
    change = CarrierChange.objects.get(action=action)
    assert (change.previous_lead, change.lead) == ("", "Police nationale")
    assert change.added == ["Centre hospitalier", "Collège Jean Giono"]
    assert change.author == technical_admin


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"start_date": "0001-01-01"},
            "La date doit être comprise entre le 1er janvier 2018 et le 31 décembre 2032.",
        ),
        ({"contributing_organisations": []} | {"lead_organisation": "college"}, None),
        ({"lead_organisation": "prefecture"}, "Sélectionnez un choix valide"),
        ({"contributing_organisations": ["prefecture"]}, "Sélectionnez un choix valide"),
        ({"contributing_organisations": ["police"]}, "Police nationale pilote l&#x27;action"),
    ],
)
def test_it_applies_the_sheet_rules_to_the_admins_add_form(
    client, technical_admin, world, changes, message
):
    o = world.organisations
    _archive(o["prefecture"])
    for key, value in changes.items():
        if key != "start_date":
            changes[key] = [str(o[v].pk) for v in value] if isinstance(value, list) else o[value].pk
    client.force_login(technical_admin)
    response = client.post(reverse("admin:actions_action_add"), _admin_add_data(world, **changes))
    created = Action.objects.filter(axis=world.axes[0], number="9").exists()
    if message is None:
        assert response.status_code == 302 and created
        return
    assert response.status_code == 200 and not created
    assert message in response.content.decode()


def test_it_offers_no_archived_organisation_to_the_admins_add_form(client, technical_admin, world):
    _archive(world.organisations["prefecture"])
    client.force_login(technical_admin)
    params = {"app_label": "actions", "model_name": "action", "term": ""}
    for field in ("lead_organisation", "contributors"):
        found = client.get(reverse("admin:autocomplete"), {**params, "field_name": field}).json()
        names = {result["text"] for result in found["results"]}
        assert "Police nationale" in names and "Préfecture" not in names, field
    form = client.get(reverse("admin:actions_action_add")).content.decode()
    assert 'name="contributing_organisations"' in form


def _count(client, url: str, **kwargs: Any) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url, **kwargs).status_code == 200
    return len(queries.captured_queries)


def test_it_shows_the_history_in_as_many_queries_whatever_its_length(
    world, personas, login, django_assert_max_num_queries
):
    coordinator = personas["coordination"]
    small, big = world.actions["college_led"], world.actions["ville_led"]
    for action, changes in ((small, 1), (big, 30)):
        for i in range(changes):
            CarrierChange.objects.create(
                action=action,
                author=personas["admin" if i % 2 else "coordination"],
                author_organisation=coordinator.organisation if i % 2 else None,
                created_at=timezone.now() - dt.timedelta(days=i),
                previous_lead="A",
                lead="B",
                added=["C"],
            )
    client = login(personas["elu"])
    client.get(_sheet_url(small))  # warm the session
    htmx = {"headers": {"HX-Request": "true"}}
    for kwargs in ({}, htmx):
        few = _count(client, _sheet_url(small), **kwargs)
        with django_assert_max_num_queries(few):
            client.get(_sheet_url(big), **kwargs)
