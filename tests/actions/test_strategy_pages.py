"""The strategy dashboard and the axis page: access, content, progress roll-up, query counts."""

from __future__ import annotations

import pytest
from django.urls import reverse

from actions.models import Action, Status
from actions.progress import strategy_progress
from axes.models import Strategy
from axes.selectors import pick_current
from clspdr.models import Role
from tests.factories import (
    ActionFactory,
    AxisFactory,
    BodyFactory,
    StatusUpdateFactory,
    StrategyFactory,
    UserFactory,
)
from tests.queries import assert_constant_queries

pytestmark = pytest.mark.django_db


def _strategy(slug: str, start: int, end: int) -> Strategy:
    return Strategy(slug=slug, title=slug, town="Manosque", start_year=start, end_year=end)


def test_it_picks_the_strategy_running_this_year():
    old, current, next_one = (
        _strategy("a", 2019, 2022),
        _strategy("b", 2023, 2027),
        _strategy("c", 2028, 2032),
    )
    assert pick_current([next_one, current, old], year=2025) is current
    assert pick_current([next_one, current, old], year=2019) is old


def test_it_falls_back_to_the_latest_strategy_when_none_runs_this_year():
    old, latest = _strategy("a", 2019, 2022), _strategy("b", 2023, 2027)
    assert pick_current([old, latest], year=2040) is latest
    assert pick_current([], year=2025) is None


@pytest.mark.parametrize("name", ["axes:dashboard", "axes:axis", "axes:strategy"])
def test_it_sends_anonymous_visitors_to_the_login_page(world, client, name):
    kwargs = {
        "axes:axis": {"pk": world.axes[0].pk},
        "axes:strategy": {"slug": "manosque-2023-2027"},
    }
    response = client.get(reverse(name, kwargs=kwargs.get(name)))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


@pytest.mark.parametrize("name", ["axes:dashboard", "axes:axis"])
def test_it_refuses_an_outsider(world, personas, login, name):
    kwargs = {"pk": world.axes[0].pk} if name == "axes:axis" else None
    response = login(personas["outsider"]).get(reverse(name, kwargs=kwargs))
    assert response.status_code == 403


def test_it_shows_a_friendly_empty_state_without_strategy(login):
    coordinator = UserFactory(username="coord", role=Role.COORDINATOR)
    response = login(coordinator).get(reverse("axes:dashboard"))
    assert response.status_code == 200
    assert "Aucune stratégie locale n'a encore été chargée" in response.content.decode()


def test_it_rolls_progress_up_without_abandoned_actions(world, personas):
    axis1, axis3 = world.axes
    Action.objects.filter(axis__in=world.axes).delete()
    ActionFactory(axis=axis1, number="1", progress=20, status=Status.IN_PROGRESS)
    ActionFactory(axis=axis1, number="2", progress=60, status=Status.IN_PROGRESS)
    ActionFactory(axis=axis1, number="3", progress=100, status=Status.ABANDONED)
    ActionFactory(axis=axis3, number="1", progress=100, status=Status.DONE)

    result = strategy_progress(
        world.strategy, actions=Action.objects.visible_to(personas["coordination"])
    )

    by_number = {item.axis.number: item.progress for item in result.axes}
    assert by_number[1].percent == 40
    assert by_number[1].by_status[Status.ABANDONED] == 1
    assert by_number[1].total == 3
    assert by_number[3].percent == 100
    # the mean over all counted actions (20, 60, 100), not the mean of the axes' means
    assert result.progress.percent == 60


def test_it_gives_no_progress_to_an_axis_without_counted_action(world, personas):
    empty_axis = AxisFactory(strategy=world.strategy, number=5)
    ActionFactory(axis=empty_axis, number="1", progress=30, status=Status.ABANDONED)
    result = strategy_progress(
        world.strategy, actions=Action.objects.visible_to(personas["coordination"])
    )
    axis5 = next(item for item in result.axes if item.axis == empty_axis)
    assert axis5.progress.percent is None


def test_it_shows_the_current_strategy_with_its_axes(world, personas, login):
    world.strategy.preamble = "La présente stratégie est notre plan d'action."
    world.strategy.save()
    StrategyFactory(
        slug="manosque-2019-2022", title="Stratégie 2019-2022", start_year=2019, end_year=2022
    )
    action = world.actions["police_led"]
    Action.objects.filter(pk=action.pk).update(status=Status.IN_PROGRESS, progress=50)
    StatusUpdateFactory(
        action=action, author=personas["police"], author_organisation=world.organisations["police"]
    )

    response = login(personas["elu"]).get(reverse("axes:dashboard"))

    html = response.content.decode()
    assert response.status_code == 200
    assert html.count("<h1") == 1
    assert world.strategy.title in html
    assert "2023–2027" in html
    assert "<details" in html and "La présente stratégie est notre plan d" in html
    assert reverse("axes:axis", args=[world.axes[1].pk]) in html
    assert "Axe 3 : Tranquillité publique" in html
    # the card of axis 3 counts its actions by status
    assert "badge--in_progress" in html
    # the recent update, with who and for which organisation, linking to the action
    assert reverse("actions:detail", args=[action.pk]) in html
    assert "Police nationale" in html
    # the other strategy is listed
    assert reverse("axes:strategy", args=["manosque-2019-2022"]) in html


def test_it_shows_another_strategy_by_its_slug(world, personas, login):
    StrategyFactory(
        slug="manosque-2019-2022", title="Stratégie 2019-2022", start_year=2019, end_year=2022
    )
    client = login(personas["plenier"])
    response = client.get(reverse("axes:strategy", args=["manosque-2019-2022"]))
    assert response.status_code == 200
    assert "<h1>Stratégie 2019-2022</h1>" in response.content.decode()
    assert client.get(reverse("axes:strategy", args=["inconnue"])).status_code == 404


def test_it_lists_only_the_ten_latest_updates(world, personas, login):
    action = world.actions["college_led"]
    for index in range(12):
        StatusUpdateFactory(action=action, author=personas["education"], comment=f"n{index}")
    response = login(personas["coordination"]).get(reverse("axes:dashboard"))
    assert len(response.context["updates"]) == 10


def test_it_shows_the_axis_page(world, personas, login):
    from tests.queries import make_actions

    axis = world.axes[1]
    axis.priority_issue = "Prévenir l'insécurité routière"
    axis.description = "Description de l'axe."
    axis.save()
    BodyFactory(
        strategy=world.strategy, kind="working_group", axis=axis, name="Groupe de travail axe 3"
    )
    (action,) = make_actions(1, axis)

    response = login(personas["police"]).get(reverse("axes:axis", args=[axis.pk]))

    html = response.content.decode()
    assert response.status_code == 200
    assert html.count("<h1") == 1
    assert "Prévenir l'insécurité routière" in html or "Prévenir l&#x27;insécurité routière" in html
    assert "Groupe de travail axe 3" in html
    assert f">3.{action.number}</td>" in html
    assert reverse("actions:detail", args=[action.pk]) in html
    assert f"Points de l&#x27;action {action.number}" in html  # the sub-list under its action
    assert "Pilote des tests" in html
    assert '<th scope="col"' in html and "<caption>" in html
    # roll-up: police_led 0 %, ville_led 0 %, generated 40 % (postponed) -> 13 %
    assert response.context["progress"].percent == pytest.approx(40 / 3)


def test_it_runs_the_same_queries_on_the_dashboard_for_1_and_50_actions(
    world, personas, login, django_assert_num_queries
):
    client = login(personas["coordination"])
    assert_constant_queries(
        client, reverse("axes:dashboard"), world.axes[0], django_assert_num_queries
    )


def test_it_runs_the_same_queries_on_the_axis_page_for_1_and_50_actions(
    world, personas, login, django_assert_num_queries
):
    client = login(personas["police"])
    axis = world.axes[0]
    url = reverse("axes:axis", args=[axis.pk])
    assert_constant_queries(client, url, axis, django_assert_num_queries)


def test_it_costs_the_same_queries_and_bytes_beside_20_other_councils(world, personas, login):
    """Flat with the deployment's size: the other councils' strategies, actions and (newer)
    updates add no query and not a byte to a council's dashboard."""
    from tests.queries import add_councils, count_queries

    StatusUpdateFactory(action=world.actions["college_led"], author=personas["education"])
    client = login(personas["coordination"])
    url = reverse("axes:dashboard")
    client.get(url)  # warm the session
    few = count_queries(lambda: client.get(url))
    alone = client.get(url).content
    add_councils(20)
    assert count_queries(lambda: client.get(url)) == few
    beside = client.get(url).content
    # no other council's strategy listed, no other council's update (tokens vary, not lengths)
    assert len(beside) == len(alone) and b"commune" not in beside.lower()


def test_it_lists_the_latest_updates_of_the_shown_strategy_only(world, personas, login):
    from tests.queries import add_councils

    StatusUpdateFactory(action=world.actions["college_led"], author=personas["education"])
    elsewhere = add_councils(2)  # their updates are newer
    response = login(personas["coordination"]).get(reverse("axes:dashboard"))
    assert [u.action_id for u in response.context["updates"]] == [world.actions["college_led"].pk]
    other = login(personas["coordination"]).get(
        reverse("axes:strategy", args=[elsewhere[0].axis.strategy.slug])
    )
    assert {u.action_id for u in other.context["updates"]} == {elsewhere[0].pk}


def test_it_lists_the_other_strategies_of_the_same_council_only(world, personas, login):
    from tests.queries import add_councils

    StrategyFactory(slug="manosque-2019-2022", start_year=2019, end_year=2022)
    add_councils(1)
    html = login(personas["plenier"]).get(reverse("axes:dashboard")).content.decode()
    assert reverse("axes:strategy", args=["manosque-2019-2022"]) in html
    assert "Stratégie de la commune 0" not in html
