"""Updating an action's status and progress from its sheet, with and without htmx."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from guardian.shortcuts import assign_perm

from actions.models import Action, Status, StatusUpdate
from actions.services import COMMENT_MAX_LENGTH
from clspdr.permissions import ACTION_UPDATE_STATUS

HTMX = {"HX-Request": "true"}


def _post(client, action, *, htmx: bool = False, **data):
    values = {"status": "in_progress", "progress": "40", "comment": "Point d'étape"}
    values |= {"version": str(action.version)} | {k: str(v) for k, v in data.items()}
    url = reverse("actions:update_status", args=[action.pk])
    return client.post(url, values, headers=HTMX if htmx else {})


@pytest.mark.parametrize(
    ("persona", "action"),
    [
        ("police", "police_led"),  # partner of the lead organisation
        ("education", "police_led"),  # partner of a contributor
        ("bailleur", "ville_led"),
        ("coordination", "college_led"),  # the coordinator updates any action
    ],
)
def test_it_lets_the_carrying_partners_and_the_coordinator_update(
    world, personas, login, persona, action
):
    action = world.actions[action]
    response = _post(login(personas[persona]), action)
    assert response.status_code == 302
    assert response["Location"] == reverse("actions:detail", args=[action.pk])
    action.refresh_from_db()
    assert (action.status, action.progress, action.version) == (Status.IN_PROGRESS, 40, 2)
    update = StatusUpdate.objects.get(action=action)
    assert update.author == personas[persona]
    assert update.author_organisation == personas[persona].organisation
    assert (update.previous_status, update.previous_progress) == (Status.TODO, 0)
    assert update.comment == "Point d'étape"


def test_it_says_the_update_succeeded_on_the_sheet(world, personas, login):
    client = login(personas["police"])
    response = _post(client, world.actions["police_led"])
    page = client.get(response["Location"]).content.decode()
    assert "Avancement de l&#x27;action 3.1 mis à jour." in page


@pytest.mark.parametrize(
    ("persona", "action"),
    [
        ("education", "ville_led"),  # its organisation does not carry this one
        ("plenier", "police_led"),  # reads, never writes
        ("elu", "police_led"),
        ("admin", "police_led"),
        ("outsider", "police_led"),
    ],
)
def test_it_refuses_a_forged_post_and_writes_nothing(world, personas, login, persona, action):
    action = world.actions[action]
    response = _post(login(personas[persona]), action)
    assert response.status_code == 403
    action.refresh_from_db()
    assert (action.status, action.progress, action.version) == (Status.TODO, 0, 1)
    assert not StatusUpdate.objects.exists()


def test_it_sends_anonymous_to_login_and_writes_nothing(world, client):
    response = _post(client, world.actions["police_led"])
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))
    assert not StatusUpdate.objects.exists()


def test_it_refuses_get_on_the_update_url(world, personas, login):
    url = reverse("actions:update_status", args=[world.actions["police_led"].pk])
    assert login(personas["police"]).get(url).status_code == 405


def test_it_answers_404_for_an_unknown_action(world, personas, login):
    url = reverse("actions:update_status", args=[999_999])
    response = login(personas["police"]).post(url, {"status": "todo", "progress": "0"})
    assert response.status_code == 404


def test_it_moves_last_update_at(world, personas, login):
    action = world.actions["police_led"]
    assert action.last_update_at is None
    _post(login(personas["police"]), action)
    action.refresh_from_db()
    assert action.last_update_at == StatusUpdate.objects.get().created_at


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        (
            {"status": "done", "progress": 80},
            "progress",
            "Une action réalisée est avancée à 100 %.",
        ),
        ({"status": "todo", "progress": 20}, "progress", "Une action à lancer est avancée à 0 %."),
        ({"progress": 120}, "progress", "L'avancement doit être compris entre 0 et 100 %."),
        ({"progress": -5}, "progress", "L'avancement doit être compris entre 0 et 100 %."),
        ({"progress": 42}, "progress", "L'avancement se saisit par pas de 5 %"),
        ({"progress": "beaucoup"}, "progress", "L'avancement est un nombre entier de 0 à 100."),
        ({"status": "finished"}, "status", "Sélectionnez un choix valide"),
        ({"comment": "x" * (COMMENT_MAX_LENGTH + 1)}, "comment", "Le commentaire dépasse 2000"),
        ({"version": ""}, "version", "Le formulaire est incomplet"),
    ],
)
@pytest.mark.parametrize("htmx", [False, True])
def test_it_explains_invalid_input_in_french_and_writes_nothing(
    world, personas, login, data, field, message, htmx
):
    action = world.actions["police_led"]
    response = _post(login(personas["police"]), action, htmx=htmx, **data)
    html = response.content.decode()
    # Both branches answer 200 (the project's convention; htmx 2 drops 4xx responses).
    assert response.status_code == 200
    assert message.replace("'", "&#x27;") in html
    assert ("<html" in html) is not htmx
    assert not StatusUpdate.objects.exists()
    assert Action.objects.get(pk=action.pk).version == 1
    if field != "version":
        assert f'id="id_{field}_error"' in html
        assert 'aria-invalid="true"' in html
        assert "autofocus" in html  # htmx 2 moves the focus to the first field in error


def test_it_accepts_a_comment_at_the_length_cap(world, personas, login):
    action = world.actions["police_led"]
    _post(login(personas["police"]), action, comment="é" * COMMENT_MAX_LENGTH)
    assert len(StatusUpdate.objects.get().comment) == COMMENT_MAX_LENGTH


def test_it_keeps_what_was_typed_when_the_form_is_invalid(world, personas, login):
    action = world.actions["police_led"]
    response = _post(
        login(personas["police"]), action, status="done", progress=80, comment="Mon texte"
    )
    html = response.content.decode()
    assert 'value="80"' in html
    assert "Mon texte" in html
    assert '<option value="done" selected>' in html


def test_it_returns_the_status_panel_to_htmx(world, personas, login):
    action = world.actions["police_led"]
    response = _post(login(personas["education"]), action, htmx=True, progress=60)
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html
    assert html.lstrip().startswith('<section id="status-panel"')
    assert "HX-Request" in response["Vary"]
    # the new state, the new history row, and a fresh form at the new version
    assert 'class="badge badge--in_progress"' in html
    assert "avancement : 0\u00a0% → 60\u00a0%" in html
    assert 'name="version" value="2"' in html
    # the button that had the focus is gone: the focus goes to the confirmation, just above
    # the fresh form, where the person is (not to the page's messages, out of view on top)
    confirmation = (
        '<p id="status-confirmation" class="message message--success" role="status" '
        'tabindex="-1" autofocus>Avancement de l&#x27;action 3.1 mis à jour.</p>'
    )
    assert confirmation in html
    assert html.index(confirmation) < html.index('<form class="status-form"')
    assert 'id="messages"' not in html


def test_it_updates_the_summary_under_the_title_in_the_same_swap(world, personas, login):
    action = world.actions["police_led"]
    response = _post(login(personas["education"]), action, htmx=True, progress=60)

    html = response.content.decode()
    panel_end = html.index("</section>", html.index('<section id="status-panel"'))
    summary = html[html.index('<p id="action-summary"') :]
    assert html.index('<p id="action-summary"') > panel_end  # beside the panel, not inside
    assert summary.startswith('<p id="action-summary" hx-swap-oob="outerHTML">')
    summary = summary[: summary.index("</p>")]
    assert 'class="badge badge--in_progress"' in summary
    assert "60 %" in summary
    assert f"/plan/axes/{action.axis_id}/" in summary


def test_it_renders_the_summary_in_place_on_the_page(world, personas, login):
    action = world.actions["police_led"]
    page = login(personas["education"]).get(reverse("actions:detail", args=[action.pk]))

    html = page.content.decode()
    assert html.count('id="action-summary"') == 1
    assert "hx-swap-oob" not in html


def test_it_posts_the_form_with_and_without_htmx(world, personas, login):
    action = world.actions["police_led"]
    html = login(personas["police"]).get(reverse("actions:detail", args=[action.pk])).content
    url = reverse("actions:update_status", args=[action.pk])
    page = html.decode()
    assert f'method="post" action="{url}"' in page  # works without JavaScript
    assert f'hx-post="{url}"' in page
    assert 'hx-target="#status-panel"' in page and 'hx-swap="outerHTML"' in page
    assert 'name="csrfmiddlewaretoken"' in page
    assert 'step="5"' in page and 'min="0"' in page and 'max="100"' in page
    assert 'maxlength="2000"' in page


def test_it_needs_the_csrf_token(world, personas):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(personas["police"])
    response = _post(client, world.actions["police_led"])
    assert response.status_code == 403
    assert not StatusUpdate.objects.exists()


def test_it_escapes_html_typed_in_the_comment(world, personas, login):
    action = world.actions["police_led"]
    client = login(personas["police"])
    _post(client, action, comment='<img src=x onerror="alert(1)">')
    html = client.get(reverse("actions:detail", args=[action.pk])).content.decode()
    assert "<img src=x" not in html
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in html


# The tables that hold who may update an action: its carriers and the per-object exceptions.
_PERMISSION_TABLES = (
    "actions_actionuserobjectpermission",
    "actions_actiongroupobjectpermission",
)


def _permission_queries(queries) -> list[str]:
    return [q["sql"] for q in queries if any(t in q["sql"] for t in _PERMISSION_TABLES)]


@pytest.mark.parametrize("persona", ["police", "plenier"])
def test_it_decides_access_once_per_status_update(world, personas, login, persona):
    action = world.actions["police_led"]
    if persona == "plenier":  # no carrier: only a per-object exception lets it update
        assign_perm(ACTION_UPDATE_STATUS.perm, personas[persona], action)
    client = login(personas[persona])
    with CaptureQueriesContext(connection) as queries:
        response = _post(client, action, htmx=True)
    assert response.status_code == 200
    assert StatusUpdate.objects.filter(action=action).count() == 1
    assert len(_permission_queries(queries.captured_queries)) == 1, "\n".join(
        q["sql"] for q in queries.captured_queries
    )
