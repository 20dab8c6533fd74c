"""What every logged-in request costs before a page's own work: its queries and session writes.

Counts, not timings (issue 9, point 6). This module doubles as a small URLconf: a trivial view
(nothing but `login_required`, as `/bench/trivial/`), the base layout with an empty page, and a
view that leaves a message, beside the project's URLs.

The queries of a logged-in read request, each justified (docs/architecture.md, "Cost of a
request"):

1. `SELECT django_session`: sessions live in the database so that a Redis outage logs nobody
   out, and the row carries the idle deadline (`expire_date > now`).
2. `SELECT clspdr_user` joined with its organisation: read afresh on every request so that a
   deactivation or a password change ends the session at the next request (Django checks the
   password hash kept in the session); the organisation named in the header of every page comes
   in the same query (clspdr/auth_backends.py).

Nothing else: no session write (nor its transaction or savepoint) on a read, since the idle
deadline is pushed forward at most once a minute (clspdr/middleware.py); the base layout's
permission check (`{% can "audit.view" %}`) reads the user's role; messages and the CSRF token
live in cookies.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import time_machine
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template import engines
from django.test.utils import CaptureQueriesContext
from django.urls import include, path

TRIVIAL_URL = "/test-trivial/"
LAYOUT_URL = "/test-layout/"
MESSAGE_URL = "/test-message/"
HOME_URL = "/"

LAYOUT = engines["django"].from_string(
    '{% extends "base.html" %}{% block content %}<p>Page vide</p>{% endblock %}'
)


@login_required
def _trivial(request: HttpRequest) -> HttpResponse:
    return HttpResponse("Page témoin")


@login_required
def _layout(request: HttpRequest) -> HttpResponse:
    return HttpResponse(LAYOUT.render({}, request))


@login_required
def _message(request: HttpRequest) -> HttpResponse:
    messages.success(request, "Modification enregistrée.")
    return redirect(LAYOUT_URL)


urlpatterns = [
    path(TRIVIAL_URL.strip("/") + "/", _trivial),
    path(LAYOUT_URL.strip("/") + "/", _layout),
    path(MESSAGE_URL.strip("/") + "/", _message),
    path("", include("clspdr.urls")),
]

pytestmark = pytest.mark.urls(__name__)

SESSION_WRITE = re.compile(r'^\s*(INSERT|UPDATE|DELETE)\b.*"django_session"', re.I | re.S)


@pytest.fixture
def clock() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(datetime(2026, 3, 2, 8, 0, tzinfo=UTC), tick=False) as traveller:
        yield traveller


def _session_writes(context: CaptureQueriesContext) -> list[str]:
    return [q["sql"] for q in context.captured_queries if SESSION_WRITE.match(q["sql"])]


def _sql(context: CaptureQueriesContext) -> str:
    return "\n".join(q["sql"][:160] for q in context.captured_queries)


def _logged_in(client, personas, persona: str, path: str) -> None:
    client.force_login(personas[persona])
    assert client.get(path).status_code == 200  # the first request after login stamps it


# The home page's own queries, after the two above: the current strategy, the progress roll-up
# per axis, the axes; then for the coordinator the actions least recently updated and the
# latest updates, for a partner the actions its organisation carries.
@pytest.mark.parametrize(
    ("persona", "path", "queries"),
    [
        ("coordination", TRIVIAL_URL, 2),
        ("coordination", LAYOUT_URL, 2),
        ("coordination", HOME_URL, 7),
        ("police", TRIVIAL_URL, 2),
        ("police", LAYOUT_URL, 2),
        ("police", HOME_URL, 6),
    ],
)
def test_it_reads_a_page_with_pinned_queries_and_no_session_write(
    client, personas, clock, persona, path, queries
):
    _logged_in(client, personas, persona, path)
    clock.shift(30)

    with CaptureQueriesContext(connection) as context:
        response = client.get(path)

    assert response.status_code == 200
    assert _session_writes(context) == []
    assert len(context) == queries, _sql(context)


def test_it_serves_an_htmx_fragment_without_writing_the_session(client, personas, clock):
    _logged_in(client, personas, "police", "/plan/actions/")
    clock.shift(30)

    with CaptureQueriesContext(connection) as context:
        response = client.get("/plan/actions/?q=a", headers={"HX-Request": "true"})

    assert response.status_code == 200
    assert _session_writes(context) == []


def test_it_writes_an_active_session_once_a_minute_at_most(client, personas, clock):
    _logged_in(client, personas, "coordination", TRIVIAL_URL)
    writes = []
    for _ in range(6):  # 10, 20, ... 60 s after the last write: the 6th is due
        clock.shift(10)
        with CaptureQueriesContext(connection) as context:
            assert client.get(TRIVIAL_URL).status_code == 200
        writes.append(len(_session_writes(context)))
    assert writes == [0, 0, 0, 0, 0, 1]

    clock.shift(1)
    with CaptureQueriesContext(connection) as context:
        client.get(TRIVIAL_URL)
    assert _session_writes(context) == []


def test_it_writes_the_session_once_61_seconds_later(client, personas, clock):
    _logged_in(client, personas, "police", HOME_URL)
    clock.shift(61)

    with CaptureQueriesContext(connection) as context:
        assert client.get(HOME_URL).status_code == 200

    assert len(_session_writes(context)) == 1, _sql(context)


def test_it_shows_a_message_without_writing_the_session(client, personas, clock):
    _logged_in(client, personas, "coordination", LAYOUT_URL)
    clock.shift(30)

    with CaptureQueriesContext(connection) as context:
        response = client.get(MESSAGE_URL, follow=True)

    assert "Modification enregistrée." in response.content.decode()
    assert _session_writes(context) == []
