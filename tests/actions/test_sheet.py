"""The action sheet page (fiche-action): what it shows, to whom, in how many queries."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from guardian.shortcuts import assign_perm

from actions.models import (
    CarrierChange,
    Funding,
    Priority,
    SheetChange,
    Status,
    SubAction,
    SubList,
)
from clspdr.permissions import ACTION_UPDATE_STATUS
from tests.factories import OrganisationFactory, StatusUpdateFactory, UserFactory

PARIS = dt.timezone(dt.timedelta(hours=1))  # November: Europe/Paris is UTC+1


def _url(action) -> str:
    return reverse("actions:detail", args=[action.pk])


def _fill_sheet(world) -> None:
    action = world.actions["police_led"]
    action.title = "Renforcer la présence de proximité"
    action.target_public = "Habitants des quartiers prioritaires"
    action.territory = "Quartier des Serres"
    action.objectives = "Réduire le sentiment d'insécurité"
    action.means = "Patrouilles pédestres"
    action.priority = Priority.HIGH
    action.indicators = "Nombre de patrouilles par mois"
    action.start_date = dt.date(2026, 11, 25)
    action.end_date = dt.date(2027, 6, 30)
    action.save()
    Funding.objects.create(action=action, year=2026, funder="Ville", amount=Decimal("12500"))
    Funding.objects.create(action=action, year=2026, funder="FIPD", amount=Decimal("2500.50"))
    Funding.objects.create(action=action, year=2027, funder="Ville", amount=Decimal("8000"))
    sublist = SubList.objects.create(
        action=action, title="Améliorer la tranquillité publique et résidentielle"
    )
    SubAction.objects.create(sublist=sublist, position=1, number="1", title="Médiation de nuit")
    SubAction.objects.create(sublist=sublist, position=2, number="2", title="Vidéoprotection")


def test_it_shows_every_field_of_the_sheet(world, personas, login):
    _fill_sheet(world)
    response = login(personas["plenier"]).get(_url(world.actions["police_led"]))
    html = response.content.decode()
    assert response.status_code == 200
    assert "<h1>3.1 Renforcer la présence de proximité</h1>" in html
    assert reverse("axes:axis", args=[world.axes[1].pk]) in html
    for text in (
        "Description de l'action.",
        "Police nationale",
        "Collège Jean Giono",
        "Habitants des quartiers prioritaires",
        "Quartier des Serres",
        "Réduire le sentiment d'insécurité",
        "Patrouilles pédestres",
        "Haute",
        "Nombre de patrouilles par mois",
        "25 novembre 2026",
        "30 juin 2027",
        "Améliorer la tranquillité publique et résidentielle",
        "Médiation de nuit",
        "Vidéoprotection",
    ):
        assert escape(text) in html, text
    assert 'class="badge badge--todo"' in html
    assert "Non renseigné" not in html


def test_it_shows_the_budget_per_year_with_totals(world, personas, login):
    _fill_sheet(world)
    html = login(personas["plenier"]).get(_url(world.actions["police_led"])).content.decode()
    thin = "\u202f"  # the French thousands separator (clspdr/formats/fr)
    assert f"12{thin}500,00&nbsp;€" in html
    assert "2{thin}500,50&nbsp;€".replace("{thin}", thin) in html
    assert f'Total 2026</th>\n        <td class="num"><strong>15{thin}000,50&nbsp;€' in html
    assert f"8{thin}000,00&nbsp;€" in html
    assert f"23{thin}000,50&nbsp;€" in html  # whole period
    assert "<caption>" in html and 'scope="col"' in html


def test_it_shows_empty_fields_as_not_filled_in(world, personas, login):
    action = world.actions["ville_led"]
    action.description = ""
    action.save()
    html = login(personas["plenier"]).get(_url(action)).content.decode()
    # description, target public, territory, objectives, means, priority, indicators,
    # two dates, and the budget: shown, not hidden, so the coordinator sees what is missing.
    assert html.count('<span class="muted">Non renseigné</span>') == 9
    assert '<p class="muted">Non renseigné</p>' in html


def test_it_shows_the_whole_history_newest_first(world, personas, login):
    action = world.actions["police_led"]
    author = personas["police"]
    old = timezone.datetime(2026, 11, 25, 14, 5, tzinfo=PARIS)
    StatusUpdateFactory(
        action=action,
        author=author,
        author_organisation=author.organisation,
        created_at=old,
        previous_status=Status.TODO,
        previous_progress=0,
        status=Status.IN_PROGRESS,
        progress=20,
        comment="Premier point",
    )
    StatusUpdateFactory(
        action=action,
        author=author,
        author_organisation=author.organisation,
        created_at=old + dt.timedelta(days=30),
        previous_status=Status.IN_PROGRESS,
        previous_progress=20,
        status=Status.DONE,
        progress=100,
        comment="Terminé",
    )
    html = login(personas["plenier"]).get(_url(action)).content.decode()
    assert "25 novembre 2026 à 14:05" in html
    assert f"<strong>{author.get_full_name()}</strong> (Police nationale)" in html
    assert "statut : À lancer → En cours" in html
    assert "avancement : 20\u00a0% → 100\u00a0%" in html
    assert "statut : En cours → Réalisée" in html
    assert html.index("Terminé") < html.index("Premier point")


def test_it_lets_an_outsider_not_read_the_sheet(world, personas, login):
    assert login(personas["outsider"]).get(_url(world.actions["police_led"])).status_code == 403


def test_it_sends_anonymous_to_the_login_page(world, client):
    response = client.get(_url(world.actions["police_led"]))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_it_answers_404_for_an_unknown_action(world, personas, login):
    response = login(personas["plenier"]).get(reverse("actions:detail", args=[999_999]))
    assert response.status_code == 404


@pytest.mark.parametrize(
    ("persona", "action", "has_form"),
    [
        ("police", "police_led", True),  # lead organisation
        ("education", "police_led", True),  # contributor
        ("education", "ville_led", False),  # its organisation does not carry it
        ("plenier", "police_led", False),  # reads only
        ("elu", "police_led", False),
        ("coordination", "ville_led", True),
    ],
)
def test_it_shows_the_status_form_only_to_who_may_update(
    world, personas, login, persona, action, has_form
):
    html = login(personas[persona]).get(_url(world.actions[action])).content.decode()
    assert ('name="progress"' in html) is has_form
    assert (reverse("actions:update_status", args=[world.actions[action].pk]) in html) is has_form


@pytest.mark.parametrize(("persona", "has_link"), [("coordination", True), ("police", False)])
def test_it_links_to_the_editor_only_for_the_coordinator(world, personas, login, persona, has_link):
    action = world.actions["police_led"]
    html = login(personas[persona]).get(_url(action)).content.decode()
    assert (reverse("actions:edit", args=[action.pk]) in html) is has_link


def test_it_escapes_html_in_the_history(world, personas, login):
    action = world.actions["police_led"]
    StatusUpdateFactory(
        action=action, author=personas["police"], comment="<script>alert(1)</script>"
    )
    html = login(personas["plenier"]).get(_url(action)).content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_it_renders_only_the_panel_for_htmx(world, personas, login):
    client = login(personas["police"])
    action = world.actions["police_led"]
    full = client.get(_url(action))
    partial = client.get(_url(action), headers={"HX-Request": "true"})
    assert "<html" in full.content.decode()
    assert "<html" not in partial.content.decode()
    assert partial.content.decode().lstrip().startswith('<section id="status-panel"')
    assert "HX-Request" in full["Vary"] and "HX-Request" in partial["Vary"]


def _count_queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def _grow(action, *, updates: int, organisations: int, author) -> None:
    start = timezone.now() - dt.timedelta(days=updates + 1)
    for i in range(updates):
        other = UserFactory.create(organisation=OrganisationFactory.create())
        StatusUpdateFactory(
            action=action,
            author=other if i % 2 else author,
            author_organisation=other.organisation if i % 2 else author.organisation,
            created_at=start + dt.timedelta(days=i),
        )
        # the carrier changes share the history: as many, by as many authors
        CarrierChange.objects.create(
            action=action,
            author=author if i % 2 else other,
            author_organisation=author.organisation if i % 2 else other.organisation,
            created_at=start + dt.timedelta(days=i, hours=1),
            previous_lead=f"Pilote {i}",
            lead=f"Pilote {i + 1}",
            added=[f"Contributeur {i}"],
        )
        SheetChange.objects.create(
            action=action,
            author=other if i % 2 else author,
            author_organisation=other.organisation if i % 2 else author.organisation,
            created_at=start + dt.timedelta(days=i, hours=2),
            field="title",
            previous=f"Intitulé {i}",
            value=f"Intitulé {i + 1}",
        )
    for i in range(organisations):
        action.contributors.add(OrganisationFactory())
        Funding.objects.create(action=action, year=2023 + i, funder="Ville", amount=1000 + i)
    sublist = SubList.objects.create(action=action, position=updates, title=f"Liste {updates}")
    for i in range(organisations):
        SubAction.objects.create(sublist=sublist, position=i, number=str(i), title=f"Point {i}")


@pytest.mark.parametrize("persona", ["police", "plenier", "coordination"])
def test_it_runs_the_same_number_of_queries_whatever_the_history_length(
    world, personas, login, persona
):
    small, big = world.actions["police_led"], world.actions["ville_led"]
    author = personas["police"]
    _grow(small, updates=1, organisations=1, author=author)
    _grow(big, updates=50, organisations=10, author=author)
    # the same rights on both actions, so both pages render the same parts
    for action in (small, big):
        assign_perm(ACTION_UPDATE_STATUS.perm, personas[persona], action)
    client = login(personas[persona])
    client.get(_url(small))  # warm the session
    counts = (_count_queries(client, _url(small)), _count_queries(client, _url(big)))
    print(f"\nsheet queries as {persona}: 1 update -> {counts[0]}, 50 updates -> {counts[1]}")
    assert counts[0] == counts[1]
    # The sheet changes joined the history (one more prefetch), access decided once saved one.
    assert counts[0] <= 15


def _sheet_change(action, author, at, field="territory", previous="Centre", value="Serres"):
    return SheetChange.objects.create(
        action=action,
        author=author,
        author_organisation=author.organisation,
        created_at=at,
        field=field,
        previous=previous,
        value=value,
    )


def test_it_shows_sheet_changes_in_the_history_by_date(world, personas, login):
    action = world.actions["police_led"]
    coordinator, police = personas["coordination"], personas["police"]
    day = timezone.datetime(2026, 3, 1, 9, 30, tzinfo=PARIS)
    _sheet_change(action, coordinator, day, "start_date", "01/01/2024", "01/01/2025")
    StatusUpdateFactory(
        action=action,
        author=police,
        author_organisation=police.organisation,
        created_at=day + dt.timedelta(days=1),
        comment="Lancée",
    )
    _sheet_change(action, coordinator, day + dt.timedelta(days=2), "territory", "", "Serres")

    html = login(personas["plenier"]).get(_url(action)).content.decode()

    name = f"<strong>{coordinator.get_full_name()}</strong> ({coordinator.organisation})"
    first = f"{name} a modifié « Date de début » : « 01/01/2024 » → « 01/01/2025 »"
    last = f"{name} a modifié « Territoire » : (non renseigné) → « Serres »"
    assert first in html and last in html
    assert "1er mars 2026 à 09:30" in html
    assert html.index(last) < html.index("Lancée") < html.index(first)


def test_it_shows_the_sheet_changes_in_as_many_queries_whatever_their_number(
    world, personas, login, django_assert_max_num_queries
):
    small, big = world.actions["police_led"], world.actions["ville_led"]
    now = timezone.now()
    _sheet_change(small, personas["coordination"], now)
    for i in range(30):
        author = UserFactory.create(organisation=OrganisationFactory.create())
        _sheet_change(big, author, now - dt.timedelta(hours=i), value=f"Quartier {i}")
    client = login(personas["plenier"])
    client.get(_url(small))  # warm the session
    few = _count_queries(client, _url(small))
    with django_assert_max_num_queries(few):
        page = client.get(_url(big)).content.decode()
    assert page.count("a modifié « Territoire »") == 20  # the latest; the rest on request
    assert "Voir les mises à jour précédentes" in page


def _long_history(action, author, count: int) -> None:
    start = timezone.datetime(2025, 1, 1, 9, 0, tzinfo=PARIS)
    for i in range(count):
        StatusUpdateFactory(
            action=action,
            author=author,
            author_organisation=author.organisation,
            created_at=start + dt.timedelta(days=i),
            comment=f"Point numéro {i:03d}",
        )


def test_it_shows_the_latest_20_updates_and_a_control_for_the_rest(world, personas, login):
    action = world.actions["police_led"]
    _long_history(action, personas["police"], 300)
    html = login(personas["plenier"]).get(_url(action)).content.decode()
    assert html.count("Point numéro") == 20
    assert "Point numéro 299" in html and "Point numéro 280" in html
    assert "Point numéro 279" not in html
    more = reverse("actions:history", args=[action.pk]) + "?page=2"
    # A plain link (works without JavaScript) that htmx fetches and appends to the list.
    assert f'href="{more}"' in html and f'hx-get="{more}"' in html
    assert 'hx-target="#history-list"' in html and 'id="history-list"' in html


def test_it_loads_the_previous_updates_a_page_at_a_time(world, personas, login):
    action = world.actions["police_led"]
    _long_history(action, personas["police"], 45)
    client = login(personas["plenier"])
    url = reverse("actions:history", args=[action.pk])
    fragment = client.get(url + "?page=2", HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in fragment
    assert fragment.count("Point numéro") == 20
    assert "Point numéro 024" in fragment and "Point numéro 005" in fragment
    assert "Point numéro 025" not in fragment and "Point numéro 004" not in fragment
    assert 'tabindex="-1" autofocus' in fragment  # the first new entry takes the focus
    assert 'hx-swap-oob="outerHTML"' in fragment and "?page=3" in fragment
    last = client.get(url + "?page=3", HTTP_HX_REQUEST="true").content.decode()
    assert last.count("Point numéro") == 5
    assert "Voir les mises à jour précédentes" not in last  # the control is replaced: no more
    # Without JavaScript, the same page is a page of its own, numbered where it starts.
    page = client.get(url + "?page=2").content.decode()
    assert "<html" in page and 'start="21"' in page and page.count("Point numéro") == 20


@pytest.mark.parametrize("page", ["abc", "-3", "99999999999999999999"])
def test_it_answers_any_page_number(world, personas, login, page):
    action = world.actions["police_led"]
    url = reverse("actions:history", args=[action.pk])
    assert login(personas["plenier"]).get(url, {"page": page}).status_code == 200
