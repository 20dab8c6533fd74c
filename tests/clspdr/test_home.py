"""The home page: what each kind of person comes for."""

from __future__ import annotations

import datetime
import re

import pytest
from django.urls import reverse
from django.utils import timezone
from guardian.shortcuts import assign_perm

from actions.models import Action
from actions.selectors import home_actions_for
from clspdr.permissions import ACTION_UPDATE_STATUS
from clspdr.templatetags.clspdr import frdate
from tests.factories import ActionFactory, AxisFactory, StatusUpdateFactory, StrategyFactory
from tests.queries import assert_constant_queries

pytestmark = pytest.mark.django_db

URL = reverse("home")


def _ago(days: int) -> datetime.datetime:
    # noon local time: "N days ago" must not depend on the hour the test runs or on DST
    day = timezone.localdate() - datetime.timedelta(days=days)
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(12)))


def _codes(html: str) -> list[str]:
    return re.findall(r"<td[^>]*>(\d+\.\w+)</td>", html)


def test_it_sends_anonymous_visitors_to_the_login_page(world, client):
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_it_tells_an_outsider_whom_to_contact(world, personas, login):
    response = login(personas["outsider"]).get(URL)
    html = response.content.decode()
    assert response.status_code == 200
    assert "aucun accès ne vous a encore été attribué" in html
    assert str(personas["coordination"]) in html
    assert "coordination@example.org" in html
    assert world.strategy.title not in html
    assert reverse("axes:dashboard") not in html.split("<main", 1)[1]


def test_it_puts_a_partners_least_recently_updated_actions_on_top(world, personas, login):
    police = world.organisations["police"]
    axis = world.axes[0]
    ActionFactory(axis=axis, number="7", lead_organisation=police, last_update_at=_ago(2))
    ActionFactory(axis=axis, number="8", lead_organisation=police, last_update_at=_ago(10))
    contributed = ActionFactory(axis=axis, number="9", last_update_at=_ago(30))
    contributed.contributors.add(police)

    response = login(personas["police"]).get(URL)

    html = response.content.decode()
    assert "Les actions portées par Police nationale" in html
    # never updated first (3.1), then the longest without news
    assert _codes(html) == ["3.1", "1.9", "1.8", "1.7"]
    assert "jamais" in html
    # a date, then its age as a person says it
    two_days = timezone.localdate() - datetime.timedelta(days=2)
    assert f"{frdate(two_days)}</time>, il y a 2\u00a0jours" in html
    assert "il y a 4\u00a0semaines" in html  # 30 days
    assert reverse("actions:detail", args=[world.actions["police_led"].pk]) in html
    assert "Pilote" in html and "Contributeur" in html
    assert "Actions à relancer" not in html


def test_it_adds_the_actions_granted_one_by_one(world, personas):
    bailleur = personas["bailleur"]
    assign_perm(ACTION_UPDATE_STATUS.perm, bailleur, world.actions["college_led"])
    actions = home_actions_for(bailleur, strategy=world.strategy)
    assert {a.pk for a in actions} == {
        world.actions["ville_led"].pk,
        world.actions["college_led"].pk,
    }


def test_it_leaves_out_the_actions_of_other_strategies(world, personas):
    old = StrategyFactory(slug="manosque-2019-2022", start_year=2019, end_year=2022)
    ActionFactory(axis=AxisFactory(strategy=old), lead_organisation=world.organisations["police"])
    actions = home_actions_for(personas["police"], strategy=world.strategy)
    assert [a.pk for a in actions] == [world.actions["police_led"].pk]


def test_it_says_so_when_a_partners_organisation_carries_nothing(world, personas, login):
    html = login(personas["complexe"]).get(URL).content.decode()
    assert "ne porte encore aucune action" in html


def test_it_shows_the_coordinator_what_to_chase_across_the_plan(world, personas, login):
    Action.objects.filter(pk=world.actions["college_led"].pk).update(last_update_at=_ago(5))
    Action.objects.filter(pk=world.actions["ville_led"].pk).update(last_update_at=_ago(50))
    StatusUpdateFactory(action=world.actions["college_led"], author=personas["education"])

    html = login(personas["coordination"]).get(URL).content.decode()

    assert "Actions à relancer" in html
    assert _codes(html) == ["3.1", "3.5", "1.1"]
    assert "Dernières mises à jour" in html
    assert "Avancement global de la stratégie" in html
    assert "Les actions portées par" not in html


def test_it_caps_the_coordinators_list_at_ten(world, personas, login):
    from tests.queries import make_actions

    make_actions(12, world.axes[0], updates=0)
    response = login(personas["coordination"]).get(URL)
    assert len(response.context["stale_actions"]) == 10


@pytest.mark.parametrize("persona", ["elu", "plenier", "admin"])
def test_it_gives_readers_a_summary_and_the_way_to_the_plan(world, personas, login, persona):
    html = login(personas[persona]).get(URL).content.decode()
    assert html.count("<h1") == 1
    assert world.strategy.title in html
    assert "Axe 3 : Tranquillité publique" in html
    assert reverse("axes:dashboard") in html
    assert "Actions à relancer" not in html
    assert "Les actions portées par" not in html


def test_it_runs_the_same_queries_for_a_partner_with_1_and_50_actions(
    world, personas, login, django_assert_num_queries
):
    police = world.organisations["police"]
    client = login(personas["police"])
    assert_constant_queries(client, URL, world.axes[0], django_assert_num_queries, lead=police)


def test_it_runs_the_same_queries_for_the_coordinator_with_1_and_50_actions(
    world, personas, login, django_assert_num_queries
):
    client = login(personas["coordination"])
    assert_constant_queries(client, URL, world.axes[0], django_assert_num_queries)
