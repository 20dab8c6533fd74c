"""Two people saving the same action at once (docs/security.md, T-43): the second one gets a
clear conflict, the first one's change is intact, nothing is lost.

The service tests use two real database connections (one per thread, as Django gives each
thread its own), not the single wrapped transaction of an ordinary test.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import close_old_connections, connection, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from actions.models import Action, Status, StatusUpdate
from actions.services import ActionConflict, action_update_status
from clspdr.templatetags.clspdr import frdate

WAIT = 30  # seconds; a safety net against a deadlocked test, never reached when it passes


def _in_thread(target: Callable[[], Any], results: dict[str, Any], name: str) -> threading.Thread:
    def run() -> None:
        try:
            results[name] = target()
        except BaseException as error:  # handed to the test thread, which asserts on it
            results[name] = error
        finally:
            connection.close()  # this thread's own connection

    thread = threading.Thread(target=run, name=name)
    thread.start()
    return thread


def _join(*threads: threading.Thread) -> None:
    for thread in threads:
        thread.join(WAIT)
        assert not thread.is_alive(), f"{thread.name} is stuck"


@pytest.mark.django_db(transaction=True)
def test_it_refuses_the_second_save_from_the_same_version(world, personas):
    """Both read version 1 on their own connection; A saves; B's save raises ActionConflict."""
    pk, police, education = (
        world.actions["police_led"].pk,
        personas["police"],
        personas["education"],
    )
    both_read, a_saved = threading.Barrier(2, timeout=WAIT), threading.Event()
    results: dict[str, Any] = {}

    def a() -> StatusUpdate:
        action = Action.objects.select_related("axis").get(pk=pk)
        both_read.wait()
        update = action_update_status(
            action=action,
            by=police,
            status=Status.IN_PROGRESS,
            progress=40,
            comment="Patrouilles lancées",
            expected_version=action.version,
        )
        a_saved.set()
        return update

    def b() -> StatusUpdate:
        action = Action.objects.select_related("axis").get(pk=pk)
        both_read.wait()
        assert a_saved.wait(WAIT)
        return action_update_status(
            action=action,
            by=education,
            status=Status.POSTPONED,
            progress=0,
            comment="Reporté",
            expected_version=action.version,
        )

    _join(_in_thread(a, results, "A"), _in_thread(b, results, "B"))
    close_old_connections()

    assert isinstance(results["A"], StatusUpdate), results["A"]
    conflict = results["B"]
    assert isinstance(conflict, ActionConflict), conflict
    # what the second person is told: A's values and who saved them
    assert (conflict.current.status, conflict.current.progress) == (Status.IN_PROGRESS, 40)
    assert conflict.current.version == 2
    assert conflict.last_update is not None
    assert conflict.last_update.author == police
    assert conflict.last_update.comment == "Patrouilles lancées"
    # A's change is intact, B wrote nothing
    action = Action.objects.get(pk=pk)
    assert (action.status, action.progress, action.version) == (Status.IN_PROGRESS, 40, 2)
    assert StatusUpdate.objects.count() == 1
    assert StatusUpdate.objects.get().author == police


@pytest.mark.django_db(transaction=True)
def test_it_refuses_the_save_that_waited_for_a_lock(world, personas):
    """Truly concurrent: A's transaction still holds the row after its UPDATE when B's UPDATE
    starts; B waits for the lock, then finds no row at the version it read."""
    if connection.vendor != "postgresql":
        pytest.skip(
            "needs row locks and several writers: SQLite serialises writers on the whole "
            "database, so B cannot be seen waiting on A's row. Run with DATABASE_URL=postgres://…"
        )
    pk, police, education = (
        world.actions["police_led"].pk,
        personas["police"],
        personas["education"],
    )
    both_read, a_updated = threading.Barrier(2, timeout=WAIT), threading.Event()
    b_pid: list[int] = []
    results: dict[str, Any] = {}

    def wait_until_blocked(pid: int) -> None:
        with connection.cursor() as cursor:
            for _ in range(WAIT * 20):
                cursor.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", [pid])
                row = cursor.fetchone()
                if row and row[0] == "Lock":
                    return
                threading.Event().wait(0.05)
        raise AssertionError("B never waited for A's lock")

    def a() -> StatusUpdate:
        action = Action.objects.select_related("axis").get(pk=pk)
        both_read.wait()
        with transaction.atomic():
            update = action_update_status(
                action=action,
                by=police,
                status=Status.DONE,
                progress=100,
                comment="Terminé",
                expected_version=action.version,
            )
            a_updated.set()
            wait_until_blocked(b_pid[0])  # published before the barrier
        return update

    def b() -> StatusUpdate:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            b_pid.append(cursor.fetchone()[0])
        action = Action.objects.select_related("axis").get(pk=pk)
        both_read.wait()
        assert a_updated.wait(WAIT)
        return action_update_status(
            action=action,
            by=education,
            status=Status.IN_PROGRESS,
            progress=50,
            comment="En cours",
            expected_version=action.version,
        )

    _join(_in_thread(a, results, "A"), _in_thread(b, results, "B"))
    close_old_connections()

    assert isinstance(results["A"], StatusUpdate), results["A"]
    assert isinstance(results["B"], ActionConflict), results["B"]
    assert results["B"].current.status == Status.DONE
    action = Action.objects.get(pk=pk)
    assert (action.status, action.progress, action.version) == (Status.DONE, 100, 2)
    assert StatusUpdate.objects.count() == 1


# --- The same, as two people in two browsers --------------------------------------------------


def _load(client: Client, action: Action) -> str:
    html = client.get(reverse("actions:detail", args=[action.pk])).content.decode()
    match = re.search(r'name="version" value="(\d+)"', html)
    assert match, "the status form carries the version it was read at"
    return match.group(1)


def _clients(personas, *names: str) -> list[Client]:
    clients = []
    for name in names:
        client = Client()
        client.force_login(personas[name])
        clients.append(client)
    return clients


def test_it_shows_the_second_person_the_first_ones_values(world, personas):
    action = world.actions["police_led"]
    police, education = _clients(personas, "police", "education")
    version_a, version_b = _load(police, action), _load(education, action)
    url = reverse("actions:update_status", args=[action.pk])

    first = police.post(
        url,
        {
            "status": "in_progress",
            "progress": "40",
            "comment": "Patrouilles lancées",
            "version": version_a,
        },
    )
    second = education.post(
        url,
        {
            "status": "postponed",
            "progress": "10",
            "comment": "Ma remarque à ne pas perdre",
            "version": version_b,
        },
    )

    assert first.status_code == 302
    assert second.status_code == 409
    html = second.content.decode()
    assert "<html" in html
    author = personas["police"].get_full_name()
    update = StatusUpdate.objects.get()
    when = frdate(timezone.localtime(update.created_at), "j F Y à H:i")
    assert (
        f"Cette action a été modifiée par <bdi>{author}</bdi> (<bdi>Police nationale</bdi>) le {when} "
        "pendant que vous la modifiiez. Voici ses valeurs : " in html
    )
    assert (
        "statut En cours, avancement 40\u00a0%, commentaire « <bdi>Patrouilles lancées</bdi> »"
        in html
    )
    assert 'class="conflict" role="alert"' in html
    # the second person's values are kept, with the version they have now seen
    assert "Ma remarque à ne pas perdre" in html
    assert '<option value="postponed" selected>' in html
    assert 'value="10"' in html
    assert 'name="version" value="2"' in html
    # the first person's change is intact
    action.refresh_from_db()
    assert (action.status, action.progress, action.version) == (Status.IN_PROGRESS, 40, 2)
    assert StatusUpdate.objects.count() == 1


def test_it_lets_the_second_person_save_after_seeing_the_conflict(world, personas):
    action = world.actions["police_led"]
    police, education = _clients(personas, "police", "education")
    url = reverse("actions:update_status", args=[action.pk])
    _load(police, action), _load(education, action)
    police.post(url, {"status": "in_progress", "progress": "40", "version": "1"})
    education.post(url, {"status": "postponed", "progress": "10", "version": "1"})

    again = education.post(url, {"status": "postponed", "progress": "10", "version": "2"})

    assert again.status_code == 302
    action.refresh_from_db()
    assert (action.status, action.progress, action.version) == (Status.POSTPONED, 10, 3)
    history = list(StatusUpdate.objects.order_by("created_at", "pk"))
    assert [(u.previous_status, u.status) for u in history] == [
        (Status.TODO, Status.IN_PROGRESS),
        (Status.IN_PROGRESS, Status.POSTPONED),
    ]


def test_it_shows_the_conflict_inside_the_panel_for_htmx(world, personas):
    action = world.actions["police_led"]
    police, education = _clients(personas, "police", "education")
    url = reverse("actions:update_status", args=[action.pk])
    police.post(url, {"status": "in_progress", "progress": "40", "version": "1"})

    response = education.post(
        url,
        {"status": "done", "progress": "100", "comment": "Fini", "version": "1"},
        headers={"HX-Request": "true"},
    )

    html = response.content.decode()
    assert response.status_code == 200  # htmx 2 would drop a 409
    assert "<html" not in html
    assert html.lstrip().startswith('<section id="status-panel"')
    assert 'class="conflict" role="alert" tabindex="-1" autofocus' in html
    assert "Fini" in html and 'name="version" value="2"' in html
    assert StatusUpdate.objects.count() == 1
