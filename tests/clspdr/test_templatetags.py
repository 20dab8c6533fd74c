import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from clspdr.templatetags.clspdr import age, frdate, isodate, percent


@pytest.mark.parametrize(
    ("value", "fmt", "expected"),
    [
        (dt.date(2026, 3, 1), "j F Y", "1er mars 2026"),
        (dt.date(2026, 11, 25), "j F Y", "25 novembre 2026"),
        (dt.date(2026, 11, 11), "j F Y", "11 novembre 2026"),
        (
            dt.datetime(2026, 7, 1, 14, 5, tzinfo=ZoneInfo("Europe/Paris")),
            "j F Y à H:i",
            "1er juillet 2026 à 14:05",
        ),
        (dt.date(2026, 7, 1), "d/m/Y", "01/07/2026"),
        (None, "j F Y", ""),
    ],
)
def test_it_writes_dates_the_french_way(value, fmt, expected):
    assert frdate(value, fmt) == expected


def test_it_writes_percentages_with_a_no_break_space():
    assert percent(40) == "40\u00a0%"
    assert percent(None) == "—"


@pytest.mark.django_db
def test_it_renders_an_actions_status_badge_and_progress_bar_from_the_action(world):
    from django.template import Context, Template

    action = world.actions["police_led"]
    action.status, action.progress = "in_progress", 40
    html = Template("{% status_badge action %} {% progress_bar action %}").render(
        Context({"action": action})
    )
    assert '<span class="badge badge--in_progress">En cours</span>' in html
    assert f'aria-label="Avancement de l&#x27;action {action.code}"' in html
    assert 'value="40"' in html


@pytest.mark.parametrize(
    ("days", "expected"),
    [
        (None, ""),
        (-1, "aujourd'hui"),  # a clock ahead
        (0, "aujourd'hui"),
        (1, "hier"),
        (3, "il y a 3\u00a0jours"),
        (13, "il y a 13\u00a0jours"),
        (14, "il y a 2\u00a0semaines"),
        (59, "il y a 8\u00a0semaines"),
        (60, "il y a 2\u00a0mois"),
        (95, "il y a 3\u00a0mois"),
        (364, "il y a 11\u00a0mois"),
        (365, "il y a plus d'un an"),
        (412, "il y a plus d'un an"),
        (730, "il y a plus de 2\u00a0ans"),
    ],
)
def test_it_says_how_long_ago_as_a_person_would(days, expected):
    assert age(days) == expected


def test_it_writes_machine_readable_dates_in_paris_time():
    assert isodate(dt.date(2026, 7, 1)) == "2026-07-01"
    moment = dt.datetime(2026, 7, 1, 12, 5, 30, 123456, tzinfo=dt.UTC)
    assert isodate(moment) == "2026-07-01T12:05:30+00:00"
    assert isodate(None) == ""


@pytest.mark.django_db
def test_it_shows_the_last_update_as_a_date_and_its_age(settings):
    from django.template.loader import render_to_string

    from actions.models import Action

    action = Action(last_update_at=dt.datetime(2025, 10, 13, 10, tzinfo=dt.UTC))
    action.days_since_update = 412
    html = render_to_string("components/last_update.html", {"action": action})
    assert html.strip() == (
        '<time datetime="2025-10-13T12:00:00+02:00">13 octobre 2025</time>, '
        "il y a plus d&#x27;un an"
    )
