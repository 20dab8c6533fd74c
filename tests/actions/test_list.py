"""The filtered action list: access, each filter, htmx fragment, pagination, query counts."""

from __future__ import annotations

import re
from functools import partial
from html import unescape
from io import StringIO

import pytest
from django.urls import reverse

from actions.models import Action, Status
from tests.factories import ActionFactory, AxisFactory, StrategyFactory
from tests.queries import assert_constant_queries, make_actions

pytestmark = pytest.mark.django_db

URL = reverse("actions:list")
HTMX = {"HX-Request": "true"}


def _codes(response) -> list[str]:
    return re.findall(r"<td[^>]*>(\d+\.\w+)</td>", response.content.decode())


def _list(login, persona_user, **params):
    return login(persona_user).get(URL, params)


def test_it_sends_anonymous_visitors_to_the_login_page(world, client):
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_it_refuses_an_outsider(world, personas, login):
    assert _list(login, personas["outsider"]).status_code == 403


def test_it_lists_the_actions_of_the_current_strategy_in_plan_order(world, personas, login):
    old = StrategyFactory(slug="manosque-2019-2022", start_year=2019, end_year=2022)
    ActionFactory(axis=AxisFactory(strategy=old, number=1), number="9")
    response = _list(login, personas["elu"])
    assert response.status_code == 200
    assert _codes(response) == ["1.1", "3.1", "3.5"]


def test_it_lists_another_strategy_on_demand(world, personas, login):
    old = StrategyFactory(slug="manosque-2019-2022", start_year=2019, end_year=2022)
    ActionFactory(axis=AxisFactory(strategy=old, number=2), number="9")
    response = _list(login, personas["elu"], strategie="manosque-2019-2022")
    assert _codes(response) == ["2.9"]
    # the filter form keeps the strategy when it is not the default one
    assert 'name="strategie" value="manosque-2019-2022"' in response.content.decode()


def test_it_filters_by_axis(world, personas, login):
    response = _list(login, personas["elu"], axe=world.axes[1].pk)
    assert _codes(response) == ["3.1", "3.5"]


def test_it_offers_only_the_axes_of_the_shown_strategy(world, personas, login):
    old = StrategyFactory(slug="manosque-2019-2022", start_year=2019, end_year=2022)
    old_axis = AxisFactory(strategy=old, number=4, title="Ancien axe")
    response = _list(login, personas["elu"])
    assert "Ancien axe" not in response.content.decode()
    # an axis of another strategy is refused with a message, not a crash
    response = _list(login, personas["elu"], axe=old_axis.pk)
    assert response.status_code == 200
    assert "errorlist" in response.content.decode()


def test_it_filters_by_status(world, personas, login):
    Action.objects.filter(pk=world.actions["ville_led"].pk).update(status=Status.DONE, progress=100)
    response = _list(login, personas["elu"], statut=Status.DONE)
    assert _codes(response) == ["3.5"]


def test_it_filters_by_organisation_leading_or_contributing(world, personas, login):
    college = world.organisations["college"]
    # the college leads 1.1 and contributes to 3.1
    assert _codes(_list(login, personas["elu"], organisation=college.pk)) == ["1.1", "3.1"]


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("collège", ["1.1"]),  # title
        ("RAPPEL", ["3.5"]),  # description, any case
        ("3.5", ["3.5"]),  # the code as the strategy writes it
    ],
)
def test_it_searches_number_title_and_description(world, personas, login, q, expected):
    Action.objects.filter(pk=world.actions["college_led"].pk).update(title="Forum au collège")
    Action.objects.filter(pk=world.actions["ville_led"].pk).update(
        description="Procédure de rappel à l'ordre."
    )
    assert _codes(_list(login, personas["elu"], q=q)) == expected


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("securite", ["3.1"]),  # typed without accents
        ("SÉCURITÉ", ["3.1"]),
        ("harcelement", ["1.1"]),
        ("ecole", ["3.5"]),  # in the description
        ("École", ["3.5"]),  # non-ASCII case: SQLite's LIKE folds ASCII only
        ("ÉCOLE", ["3.5"]),
        ("coeur", ["1.1"]),  # a ligature, as PostgreSQL's unaccent writes it
        ("cœur", ["1.1"]),
        ("%", []),  # LIKE's wildcards are searched as text
        ("_", []),
    ],
)
def test_it_searches_whatever_the_accents_and_case(world, personas, login, q, expected):
    """On SQLite and on PostgreSQL (CI): `unaccent` there, a registered function here."""
    Action.objects.filter(pk=world.actions["police_led"].pk).update(
        title="Communiquer sur la sécurité et la tranquillité publique"
    )
    Action.objects.filter(pk=world.actions["college_led"].pk).update(
        title="Prévention du harcèlement au cœur des collèges"
    )
    Action.objects.filter(pk=world.actions["ville_led"].pk).update(
        description="Étendre le pédibus à d'autres écoles."
    )
    assert _codes(_list(login, personas["elu"], q=q)) == expected


def test_it_shows_my_actions_to_a_partner(world, personas, login):
    # the landlord contributes to 3.5 only
    response = _list(login, personas["bailleur"], mes_actions="on")
    assert _codes(response) == ["3.5"]
    assert 'name="mes_actions"' in response.content.decode()


def test_it_hides_the_my_actions_box_from_who_cannot_update(world, personas, login):
    assert 'name="mes_actions"' not in _list(login, personas["elu"]).content.decode()


def test_it_combines_filters(world, personas, login):
    college = world.organisations["college"]
    response = _list(login, personas["elu"], organisation=college.pk, axe=world.axes[1].pk)
    assert _codes(response) == ["3.1"]
    response = _list(login, personas["elu"], organisation=college.pk, statut=Status.DONE)
    assert _codes(response) == []
    assert "Aucune action ne correspond à ces critères." in response.content.decode()


def test_it_renders_a_full_page_without_javascript(world, personas, login):
    response = _list(login, personas["police"], statut=Status.TODO)
    html = response.content.decode()
    assert "<html" in html
    assert html.count("<h1") == 1
    assert '<form method="get" action="/plan/actions/"' in html
    assert '<button type="submit">Filtrer</button>' in html
    assert 'hx-get="/plan/actions/"' in html
    assert 'id="results"' in html
    assert 'role="status"' in html and "3 actions correspondent à ces critères." in html
    assert '<th scope="col"' in html and "<caption>" in html


def test_it_renders_only_the_results_for_htmx(world, personas, login):
    response = login(personas["police"]).get(URL, {"statut": Status.TODO}, headers=HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html
    assert "<form" not in html
    assert 'id="results"' in html
    assert 'id="result-count" class="result-count" role="status"' in html
    assert _codes(response) == ["1.1", "3.1", "3.5"]
    assert "HX-Request" in response["Vary"]


def test_it_sends_the_clear_filters_link_with_the_htmx_results(world, personas, login):
    """Live filtering swaps only the results: the link comes out of band, with the filters."""
    client = login(personas["police"])
    page = client.get(URL).content.decode()
    assert page.count('id="clear-filters"') == 1
    assert 'hx-select-oob="#result-count:innerHTML,#clear-filters:outerHTML"' in page
    assert "Effacer les filtres" not in page

    filtered = client.get(URL, {"q": "", "statut": Status.TODO}, headers=HTMX).content.decode()
    link = filtered[filtered.index('<span id="clear-filters">') :]
    assert link.startswith(
        '<span id="clear-filters"><a href="/plan/actions/">Effacer les filtres</a>'
    )

    unfiltered = client.get(URL, {"q": "", "statut": ""}, headers=HTMX).content.decode()
    assert '<span id="clear-filters"></span>' in unfiltered


def test_it_renders_the_full_page_to_restore_history(world, personas, login):
    headers = {**HTMX, "HX-History-Restore-Request": "true"}
    response = login(personas["police"]).get(URL, headers=headers)
    assert "<html" in response.content.decode()


def test_it_varies_the_full_page_on_the_htmx_header(world, personas, login):
    assert "HX-Request" in _list(login, personas["police"])["Vary"]


def test_it_paginates_and_keeps_the_filters(world, personas, login):
    make_actions(55, world.axes[0], updates=0)
    client = login(personas["coordination"])
    first = client.get(URL, {"axe": world.axes[0].pk, "statut": Status.TODO})
    html = first.content.decode()
    assert len(_codes(first)) == 50
    assert "56 actions" in html
    next_link = re.search(r'href="(/plan/actions/\?[^"]*page=2[^"]*)"', html)
    assert next_link is not None
    link = next_link.group(1).replace("&amp;", "&")
    assert f"axe={world.axes[0].pk}" in link and "statut=todo" in link
    second = client.get(link, headers=HTMX)
    assert len(_codes(second)) == 6
    assert "Page 2 sur 2" in second.content.decode()


def test_it_moves_the_focus_to_the_table_after_an_htmx_page_change(world, personas, login):
    make_actions(55, world.axes[0], updates=0)
    client = login(personas["coordination"])
    focused = 'role="table" tabindex="-1" autofocus>'
    filtered = client.get(URL, {"page": 2}, headers=HTMX).content.decode()
    paged = client.get(URL, {"page": 2}, headers=HTMX | {"HX-Trigger": "page-next"})
    assert focused not in filtered  # the filter field that was typed in keeps the focus
    assert focused in paged.content.decode()


def test_it_carries_the_filters_to_the_export_links(world, personas, login):
    html = _list(login, personas["police"], statut=Status.TODO, q="action", page=1).content.decode()
    assert '/plan/actions/export.csv?statut=todo&amp;q=action"' in html
    assert '/plan/actions/export.xlsx?statut=todo&amp;q=action"' in html


def test_it_runs_the_same_queries_for_1_and_50_actions(
    world, personas, login, django_assert_num_queries
):
    client = login(personas["police"])
    assert_constant_queries(client, URL, world.axes[0], django_assert_num_queries)


def test_it_runs_the_same_queries_for_the_fragment_with_1_and_50_actions(
    world, personas, login, django_assert_num_queries
):
    police = world.organisations["police"]
    client = login(personas["police"])
    url = f"{URL}?organisation={police.pk}&mes_actions=on&q=action"
    assert_constant_queries(
        client, url, world.axes[1], django_assert_num_queries, headers=HTMX, lead=police
    )
    # the generated actions and 3.1 match every filter: a full page of 50 rows
    assert len(_codes(client.get(url, headers=HTMX))) == 50


def test_it_keeps_plan_order_whatever_order_the_rows_were_written_in(world, personas, login):
    """Axis 2 written after axis 3, action 2.2 before 2.1: the list and the exports still
    follow the plan (axis number, then position), not the order of the primary keys."""
    axis_2 = AxisFactory(strategy=world.strategy, number=2)
    ActionFactory(axis=axis_2, number="2", position=2)
    ActionFactory(axis=axis_2, number="1", position=1)
    client = login(personas["elu"])
    plan = ["1.1", "2.1", "2.2", "3.1", "3.5"]
    assert _codes(client.get(URL)) == plan
    csv_codes = [line.split(";")[1].strip('"') for line in _csv_lines(client)]
    assert csv_codes == plan


def _csv_lines(client) -> list[str]:
    content = client.get(reverse("actions:export_csv")).content.decode("utf-8-sig")
    return content.splitlines()[1:]


def _options(response, name: str) -> set[str]:
    html = response.content.decode()
    select = re.search(rf'<select name="{name}"[^>]*>(.*?)</select>', html, re.S)
    assert select, name
    return {unescape(label) for label in re.findall(r">([^<]+)</option>", select.group(1))}


def test_it_offers_only_the_organisations_carrying_the_shown_strategy(world, personas, login):
    from tests.queries import add_councils

    add_councils(3)  # each led by an organisation of its own
    offered = _options(_list(login, personas["elu"]), "organisation")
    # police, college and town lead, the college and the landlord contribute; the prefecture
    # and the hospital carry nothing here, the other councils' organisations nothing either.
    names = ["Police nationale", "Collège Jean Giono", "Ville de Manosque"]
    assert offered == {"Toutes les organisations", *names, "Habitations de Haute-Provence"}


def test_it_offers_a_partner_its_own_organisation_even_when_it_carries_nothing(
    world, personas, login
):
    from clspdr.models import Role
    from tests.factories import UserFactory

    prefecture = world.organisations["prefecture"]
    partner = UserFactory(role=Role.PARTNER, organisation=prefecture)
    assert "Préfecture" in _options(_list(login, partner), "organisation")


def test_it_offers_only_the_strategies_of_the_shown_council(world, personas, login):
    from tests.queries import add_councils

    StrategyFactory(slug="manosque-2019-2022", title="Ancienne", start_year=2019, end_year=2022)
    elsewhere = add_councils(3)
    html = _list(login, personas["elu"]).content.decode()
    assert 'value="manosque-2019-2022"' in html
    assert "commune-" not in html
    # another council's strategy is still shown on demand, with its own council's choices
    other = elsewhere[1].axis.strategy
    response = _list(login, personas["elu"], strategie=other.slug)
    assert _codes(response) == ["1.1"]
    assert 'value="manosque-2019-2022"' not in response.content.decode()
    assert _options(response, "organisation") == {
        "Toutes les organisations",
        str(elsewhere[1].lead_organisation),
        "Ville de Manosque",  # the elected member's own organisation, always offered
    }


@pytest.mark.parametrize("persona", ["coordination", "police"])
def test_it_runs_the_same_queries_beside_20_other_councils(world, personas, login, persona):
    from tests.queries import add_councils, count_queries

    police = world.organisations["police"]
    client = login(personas[persona])
    pages: list[dict[str, object]] = [{}, {"mes_actions": "on"}, {"organisation": police.pk}]

    def counts() -> list[int]:
        return [count_queries(partial(client.get, URL, params)) for params in pages]

    client.get(URL)  # warm the session
    alone = counts()
    add_councils(20, lead=police)  # the police carries an action in each of them
    assert counts() == alone
    response = client.get(URL, {"organisation": police.pk, "mes_actions": "on"})
    assert _codes(response) == ["3.1"]  # the police's action here, none of the others'


@pytest.mark.parametrize("q", ["securite", "SECURITE", "sécurité"])
def test_it_finds_the_strategys_action_on_security_typed_without_accents(db, q):
    """The strategy as the council wrote it: 3.2 "Communiquer sur la sécurité…"."""
    from django.core.management import call_command

    from actions.filters import ActionFilterSet

    call_command("load_strategy", stdout=StringIO())
    found = ActionFilterSet({"q": q}, Action.objects.select_related("axis")).qs
    assert "3.2" in {action.code for action in found}
