import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from clspdr.templatetags.clspdr import frdate, percent


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
