"""The coordinator's sheet editor (actions:edit) and its service `action_edit_sheet`."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from actions.models import Action, Funding, Priority, SheetChange, Status
from actions.services import ActionConflict, FundingLine, action_edit_sheet


def _url(action: Action) -> str:
    return reverse("actions:edit", args=[action.pk])


def _data(world, action: Action, **changes: Any) -> dict[str, Any]:
    """What the editor posts: the sheet as it is, two funding rows, the read version."""
    o = world.organisations
    data: dict[str, Any] = {
        "version": str(action.version),
        "title": "Renforcer la présence de proximité",
        "description": "Patrouilles et médiation.",
        "lead_organisation": str(o["police"].pk),
        "contributors": [str(o["college"].pk), str(o["ville"].pk)],
        "target_public": "Habitants",
        "territory": "Quartier des Serres",
        "objectives": "Apaiser",
        "means": "Deux médiateurs",
        "priority": Priority.HIGH,
        "indicators": "Nombre de patrouilles",
        "start_date": "2026-11-25",
        "end_date": "2027-06-30",
        "fundings-TOTAL_FORMS": "3",
        "fundings-INITIAL_FORMS": "0",
        "fundings-MIN_NUM_FORMS": "0",
        "fundings-MAX_NUM_FORMS": "1000",
        "fundings-0-year": "2026",
        "fundings-0-funder": "Ville",
        "fundings-0-amount": "12 500,50",
        "fundings-1-year": "2027",
        "fundings-1-funder": "FIPD",
        "fundings-1-amount": "3000",
        "fundings-2-year": "",
        "fundings-2-funder": "",
        "fundings-2-amount": "",
    }
    data.update(changes)
    return data


@pytest.mark.parametrize(
    ("persona", "expected"),
    [
        ("coordination", 200),
        ("police", 403),  # even for the action its organisation leads
        ("education", 403),
        ("plenier", 403),
        ("elu", 403),
        ("admin", 403),
        ("outsider", 403),
        ("anonymous", 302),
    ],
)
def test_it_opens_the_editor_to_the_coordinator_only(world, personas, login, persona, expected):
    action = world.actions["police_led"]
    assert login(personas[persona]).get(_url(action)).status_code == expected
    response = login(personas[persona]).post(_url(action), _data(world, action))
    assert response.status_code == (302 if persona in ("coordination", "anonymous") else 403)
    action.refresh_from_db()
    assert (action.version == 2) is (persona == "coordination")


def test_it_shows_the_current_values_in_the_form(world, personas, login):
    action = world.actions["police_led"]
    action.start_date, action.end_date = dt.date(2026, 11, 25), dt.date(2027, 6, 30)
    action.save()
    Funding.objects.create(action=action, year=2026, funder="CAF", amount=Decimal("1500"))
    html = login(personas["coordination"]).get(_url(action)).content.decode()
    assert 'type="date" name="start_date" value="2026-11-25"' in html
    assert 'type="date" name="end_date" value="2027-06-30"' in html
    assert 'name="version" value="1"' in html
    assert "<legend>Partenaires contributeurs" in html
    college = world.organisations["college"].pk
    assert f'type="checkbox" name="contributors" value="{college}"' in html
    assert re.search(
        rf'name="contributors" value="{college}" id="id_contributors_\d+" checked', html
    )
    police = world.organisations["police"].pk
    assert re.search(rf'name="contributors" value="{police}" id="id_contributors_\d+">', html)
    assert 'name="fundings-0-funder" value="CAF"' in html
    assert 'name="fundings-0-amount" value="1500,00"' in html
    assert 'name="fundings-0-DELETE"' in html
    assert 'name="fundings-2-year"' in html  # two blank rows to add budget lines
    assert 'name="fundings-2-DELETE"' not in html


def test_it_saves_the_sheet(world, personas, login):
    action = world.actions["police_led"]
    Funding.objects.create(action=action, year=2025, funder="Ancien", amount=Decimal("1"))
    client = login(personas["coordination"])
    response = client.post(_url(action), _data(world, action, status="done", progress="100"))
    assert response.status_code == 302
    assert response["Location"] == reverse("actions:detail", args=[action.pk])
    action.refresh_from_db()
    assert action.title == "Renforcer la présence de proximité"
    assert action.priority == Priority.HIGH
    assert (action.start_date, action.end_date) == (dt.date(2026, 11, 25), dt.date(2027, 6, 30))
    assert action.version == 2
    o = world.organisations
    assert set(action.contributors.all()) == {o["college"], o["ville"]}
    assert sorted(action.fundings.values_list("year", "funder", "amount")) == [
        (2026, "Ville", Decimal("12500.50")),
        (2027, "FIPD", Decimal("3000.00")),
    ]
    # status and progress never change through the editor (only with their history)
    assert (action.status, action.progress, action.last_update_at) == (Status.TODO, 0, None)
    page = client.get(response["Location"]).content.decode()
    assert "Fiche de l&#x27;action 3.1 enregistrée." in page


def test_it_removes_a_funding_row_ticked_for_deletion(world, personas, login):
    action = world.actions["police_led"]
    Funding.objects.create(action=action, year=2026, funder="Ville", amount=Decimal("12500.50"))
    Funding.objects.create(action=action, year=2027, funder="FIPD", amount=Decimal("3000"))
    data = _data(world, action, **{"fundings-INITIAL_FORMS": "2", "fundings-1-DELETE": "on"})
    login(personas["coordination"]).post(_url(action), data)
    assert list(action.fundings.values_list("funder", flat=True)) == ["Ville"]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"start_date": "2027-01-01", "end_date": "2026-12-31"},
            "La date de fin doit être postérieure ou égale à la date de début.",
        ),
        ({"title": ""}, "L'intitulé de l'action est obligatoire."),
        ({"start_date": "25/13/2026"}, "Saisissez une date valide."),
        ({"contributors": []} | {"lead_organisation": ""}, None),  # valid: both optional
        (
            {"fundings-1-year": "2026", "fundings-1-funder": "ville"},
            "Le financement 2026 de « ville » est saisi deux fois.",
        ),
        ({"fundings-1-amount": "-5"}, "Un montant de financement ne peut pas être négatif."),
        ({"fundings-1-amount": "beaucoup"}, "Le montant est un nombre, par exemple 12 500,00."),
        ({"fundings-1-year": "1999"}, "L'année doit être comprise entre 2000 et 2100."),
        ({"fundings-1-funder": ""}, "Indiquez le financeur."),
    ],
)
def test_it_validates_the_sheet_in_french(world, personas, login, changes, message):
    action = world.actions["police_led"]
    response = login(personas["coordination"]).post(_url(action), _data(world, action, **changes))
    action.refresh_from_db()
    if message is None:
        assert response.status_code == 302
        return
    assert response.status_code == 200
    html = response.content.decode()
    assert message.replace("'", "&#x27;") in html
    assert "La fiche n'a pas été enregistrée" in html
    assert action.version == 1 and not action.fundings.exists()


def test_it_refuses_the_lead_as_a_contributor(world, personas, login):
    action = world.actions["police_led"]
    police = str(world.organisations["police"].pk)
    response = login(personas["coordination"]).post(
        _url(action), _data(world, action, contributors=[police])
    )
    assert response.status_code == 200
    assert "Police nationale pilote l&#x27;action" in response.content.decode()


def test_it_shows_a_conflict_and_keeps_what_was_typed(world, personas, login):
    action = world.actions["police_led"]
    # someone else saved since the coordinator opened the editor at version 1
    action_edit_sheet(
        action=action,
        by=personas["coordination"],
        data={"title": "Titre de l'autre", "end_date": dt.date(2027, 12, 31)},
        expected_version=1,
    )
    response = login(personas["coordination"]).post(
        _url(action), _data(world, action, version="1", title="Mon titre")
    )
    assert response.status_code == 409
    html = response.content.decode()
    assert 'class="conflict" role="alert"' in html
    assert "Cette fiche a été modifiée par <bdi>Camille Martin" in html  # who saved in between
    assert "pendant que vous la modifiiez." in html
    assert "enregistré : Titre de l&#x27;autre<br>votre saisie : Mon titre" in html
    assert "enregistré : 31 décembre 2027<br>votre saisie : 30 juin 2027" in html
    assert 'name="title" value="Mon titre"' in html  # nothing lost
    assert 'name="fundings-0-amount" value="12 500,50"' in html
    assert 'name="version" value="2"' in html  # re-submitting is a conscious choice
    action.refresh_from_db()
    assert action.title == "Titre de l'autre" and action.version == 2


def test_it_writes_the_conflicts_dates_as_french_does(world, personas, login):
    action = world.actions["police_led"]
    action_edit_sheet(
        action=action,
        by=personas["coordination"],
        data={"end_date": dt.date(2028, 1, 1)},
        expected_version=1,
    )
    response = login(personas["coordination"]).post(_url(action), _data(world, action, version="1"))
    assert response.status_code == 409
    assert (
        "enregistré : 1er janvier 2028<br>votre saisie : 30 juin 2027" in response.content.decode()
    )


def test_it_saves_after_the_conflict_when_resubmitted(world, personas, login):
    action = world.actions["police_led"]
    action_edit_sheet(action=action, by=personas["coordination"], data={}, expected_version=1)
    client = login(personas["coordination"])
    assert client.post(_url(action), _data(world, action, version="1")).status_code == 409
    assert client.post(_url(action), _data(world, action, version="2")).status_code == 302
    action.refresh_from_db()
    assert action.version == 3 and action.fundings.count() == 2


def test_it_makes_a_status_update_conflict_with_an_open_editor(world, personas, login):
    action = world.actions["police_led"]
    police = login(personas["police"])
    police.post(
        reverse("actions:update_status", args=[action.pk]),
        {"status": "in_progress", "progress": "20", "version": "1"},
    )
    response = login(personas["coordination"]).post(_url(action), _data(world, action, version="1"))
    assert response.status_code == 409
    html = response.content.decode()
    assert "Dernière mise à jour de l'avancement : par" in html
    assert "(statut En cours, avancement 20\u00a0%)" in html


# --- The service --------------------------------------------------------------------------


def test_it_lets_only_the_coordinator_edit_through_the_service(world, personas):
    action = world.actions["police_led"]
    with pytest.raises(PermissionDenied):
        action_edit_sheet(
            action=action, by=personas["police"], data={"title": "x"}, expected_version=1
        )
    action.refresh_from_db()
    assert action.version == 1


def test_it_raises_a_conflict_on_a_stale_version(world, personas):
    action = world.actions["police_led"]
    coordinator = personas["coordination"]
    action_edit_sheet(action=action, by=coordinator, data={"title": "A"}, expected_version=1)
    with pytest.raises(ActionConflict) as error:
        action_edit_sheet(
            action=Action.objects.get(pk=action.pk),
            by=coordinator,
            data={"title": "B"},
            fundings=[FundingLine(2026, "Ville", Decimal(1))],
            expected_version=1,
        )
    assert error.value.current.title == "A"
    assert not Funding.objects.exists()
    assert Action.objects.get(pk=action.pk).title == "A"


def test_it_refuses_fields_that_are_not_on_the_sheet(world, personas):
    with pytest.raises(ValueError, match="status"):
        action_edit_sheet(
            action=world.actions["police_led"],
            by=personas["coordination"],
            data={"status": Status.DONE},
            expected_version=1,
        )


# --- Dates within the strategy's period -----------------------------------------------------

OUT_OF_RANGE = "La date doit être comprise entre le 1er janvier 2018 et le 31 décembre 2032."


@pytest.mark.parametrize(
    ("start", "end", "refused"),
    [
        ("0001-01-01", "2027-06-30", "start_date"),
        ("2017-12-31", "2027-06-30", "start_date"),
        ("2024-01-01", "2033-01-01", "end_date"),
        ("2018-01-01", "2032-12-31", None),  # the strategy 2023-2027, five years either side
    ],
)
def test_it_refuses_a_sheet_date_outside_the_strategy_period(
    world, personas, login, start, end, refused
):
    action = world.actions["police_led"]
    response = login(personas["coordination"]).post(
        _url(action), _data(world, action, start_date=start, end_date=end)
    )
    action.refresh_from_db()
    if refused is None:
        assert response.status_code == 302
        assert (str(action.start_date), str(action.end_date)) == (start, end)
        return
    assert response.status_code == 200
    html = response.content.decode()
    assert f'<ul class="errorlist" id="id_{refused}_error"><li>{OUT_OF_RANGE}</li></ul>' in html
    assert action.version == 1 and action.start_date is None


def test_it_refuses_a_date_outside_the_period_through_the_service(world, personas):
    action = world.actions["police_led"]
    with pytest.raises(ValidationError) as error:
        action_edit_sheet(
            action=action,
            by=personas["coordination"],
            data={"start_date": dt.date(1, 1, 1), "end_date": dt.date(2205, 1, 1)},
            expected_version=1,
        )
    assert error.value.message_dict == {"start_date": [OUT_OF_RANGE], "end_date": [OUT_OF_RANGE]}
    action.refresh_from_db()
    assert action.version == 1 and action.start_date is None


def test_it_traces_each_changed_field_of_the_sheet(world, personas, login):
    action = world.actions["police_led"]
    Action.objects.filter(pk=action.pk).update(
        title="Ancien intitulé", territory="Centre", start_date=dt.date(2026, 1, 1)
    )
    Funding.objects.create(action=action, year=2026, funder="Ville", amount=Decimal("12500.50"))
    coordinator = personas["coordination"]
    client = login(coordinator)
    before = timezone.now()

    response = client.post(_url(action), _data(world, action))

    assert response.status_code == 302
    changes = {c.field: c for c in SheetChange.objects.filter(action=action)}
    # lead and contributors are the carrier history's; unchanged fields leave no trace
    assert set(changes) == {
        "title",
        "description",
        "target_public",
        "territory",
        "objectives",
        "means",
        "priority",
        "indicators",
        "start_date",
        "end_date",
        "fundings",
    }
    assert (changes["title"].previous, changes["title"].value) == (
        "Ancien intitulé",
        "Renforcer la présence de proximité",
    )
    assert (changes["territory"].previous, changes["territory"].value) == (
        "Centre",
        "Quartier des Serres",
    )
    assert (changes["start_date"].previous, changes["start_date"].value) == (
        "01/01/2026",
        "25/11/2026",
    )
    assert (changes["end_date"].previous, changes["priority"].value) == ("", "Haute")
    assert (changes["fundings"].previous, changes["fundings"].value) == (
        "2026 Ville : 12 500,50 €",
        "2026 Ville : 12 500,50 € ; 2027 FIPD : 3 000,00 €",
    )
    for change in changes.values():
        assert change.author == coordinator
        assert change.author_organisation == coordinator.organisation
        assert change.created_at >= before


def test_it_traces_nothing_for_a_sheet_saved_unchanged(world, personas):
    action = world.actions["police_led"]
    Funding.objects.create(action=action, year=2026, funder="Ville", amount=Decimal("10"))
    action_edit_sheet(
        action=action,
        by=personas["coordination"],
        data={"title": action.title, "end_date": None, "priority": ""},
        fundings=[FundingLine(2026, "Ville", Decimal("10.00"))],
        expected_version=1,
    )
    assert not SheetChange.objects.exists()


def test_it_traces_nothing_when_the_edit_is_refused(world, personas):
    action = world.actions["police_led"]
    title = action.title
    coordinator = personas["coordination"]
    action_edit_sheet(action=action, by=coordinator, data={"title": "A"}, expected_version=1)
    with pytest.raises(ActionConflict):
        action_edit_sheet(action=action, by=coordinator, data={"title": "B"}, expected_version=1)
    with pytest.raises(ValidationError):
        action_edit_sheet(
            action=action,
            by=coordinator,
            data={"title": "C"},
            fundings=[FundingLine(1950, "Ville", Decimal(1))],
            expected_version=2,
        )
    assert list(SheetChange.objects.values_list("previous", "value")) == [(title, "A")]


def test_it_refuses_a_funding_year_out_of_bounds_through_the_service(world, personas):
    action = world.actions["police_led"]
    with pytest.raises(ValidationError) as error:
        action_edit_sheet(
            action=action,
            by=personas["coordination"],
            data={},
            fundings=[FundingLine(2101, "Ville", Decimal(1))],
            expected_version=1,
        )
    assert error.value.message_dict == {
        "fundings": ["L'année doit être comprise entre 2000 et 2100."]
    }
