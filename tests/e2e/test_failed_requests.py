"""A failed htmx request is never silent (issue 7, point 4).

htmx 2 swaps nothing when the server answers 4xx/5xx or cannot be reached: without
`static/js/htmx-feedback.js` the page stays as it was and the partner believes the update was
saved. Each test makes a request fail for a real reason where it can (the server stopped, the
database refusing the write), checks what the person sees and that nothing they typed is lost,
then lets the server recover and checks that the same form, sent again, saves.

The pages here come from a live server of this module's own (`StoppableServer`), which a test
can stop and start again on the same port: pytest-django's `live_server` lives for the whole
session and cannot be stopped mid-test.
"""

from __future__ import annotations

import contextlib
import re
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.staticfiles.handlers import StaticFilesHandler
from django.core.servers.basehttp import ThreadedWSGIServer
from django.db import connection, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.test.testcases import LiveServerThread, QuietWSGIRequestHandler
from django.urls import reverse
from playwright.sync_api import Browser, Page, Route, expect
from playwright.sync_api import Error as PlaywrightError

from actions.models import Action, StatusUpdate
from tests.e2e import a11y

SAVE = "Enregistrer la mise à jour"
UPDATE_URL = re.compile(r"/avancement/$")
COMMENT = "Réunion de locataires tenue, compte rendu à venir."


# --- A live server that can be stopped --------------------------------------------------------


class _Server(ThreadedWSGIServer):
    """Closing it also closes the connections the browser keeps alive, as a stopped process does.

    Otherwise the threads serving keep-alive connections would go on answering after the
    listening socket is closed, and the "stopped" server would still save. Its threads are
    joined on close (not daemons), so none is left using the shared database connection.
    """

    daemon_threads = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.open_connections: set[socket.socket] = set()

    def process_request(self, request: Any, client_address: Any) -> None:
        self.open_connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        self.open_connections.discard(request)
        super().shutdown_request(request)

    def server_close(self) -> None:
        for open_connection in list(self.open_connections):
            with contextlib.suppress(OSError):
                open_connection.shutdown(socket.SHUT_RDWR)
        super().server_close()  # joins the threads, which the shutdown above lets end


class _ServerThread(LiveServerThread):
    def _create_server(self, connections_override: Any = None) -> _Server:
        # Reusing the address lets it start again on the port the page was loaded from.
        return _Server(
            (self.host, self.port),
            QuietWSGIRequestHandler,
            allow_reuse_address=True,
            connections_override=connections_override,
        )


class StoppableServer:
    """The test database served on one port, stopped and started as a test needs."""

    host = "127.0.0.1"

    def __init__(self) -> None:
        # As pytest-django's live server: an in-memory SQLite database exists only in the
        # connection that created it, which the server's threads must share.
        self.shared: dict[str, BaseDatabaseWrapper] = {
            c.alias: c for c in connections.all() if c.vendor == "sqlite" and c.is_in_memory_db()
        }
        self.port = 0  # the first start picks a free port; the next ones reuse it
        self.thread: _ServerThread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> None:
        thread = _ServerThread(self.host, StaticFilesHandler, self.shared, port=self.port)
        thread.daemon = True
        for shared in self.shared.values():
            shared.inc_thread_sharing()
        thread.start()
        thread.is_ready.wait()
        self.thread = thread
        if thread.error:
            self.stop()
            raise thread.error
        self.port = thread.port

    def stop(self) -> None:
        if self.thread is None:
            return
        self.thread.terminate()
        self.thread = None
        for shared in self.shared.values():
            shared.dec_thread_sharing()


@pytest.fixture
def server(transactional_db) -> Iterator[StoppableServer]:
    server = StoppableServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def page(browser: Browser, server: StoppableServer) -> Iterator[Page]:
    """conftest's `page` (which `log_in` uses), on this module's server."""
    context = browser.new_context(base_url=server.url, locale="fr-FR", timezone_id="Europe/Paris")
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()


# --- Helpers ------------------------------------------------------------------------------------


def _open_sheet(page: Page, log_in) -> Action:
    log_in(a11y.UPDATER)
    action = a11y.swept_action()
    page.goto(reverse("actions:detail", kwargs={"pk": action.pk}))
    return action


def _type_update(page: Page) -> None:
    page.get_by_label(re.compile(r"^Statut\b")).select_option(label="En cours")
    page.get_by_role("spinbutton", name=re.compile("Avancement")).fill("60")
    page.get_by_label("Commentaire").fill(COMMENT)


def _expect_failure_shown(page: Page, text: str) -> None:
    """The message, with the focus on it; the form as typed, its button usable again."""
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text(text)
    expect(alert).to_contain_text("Vos saisies sont conservées")
    expect(alert).to_be_focused()
    expect(page.get_by_label(re.compile(r"^Statut\b"))).to_have_value("in_progress")
    expect(page.get_by_role("spinbutton", name=re.compile("Avancement"))).to_have_value("60")
    expect(page.get_by_label("Commentaire")).to_have_value(COMMENT)
    expect(page.get_by_role("button", name=SAVE)).to_be_enabled()
    expect(page.locator("[aria-busy], .htmx-request")).to_have_count(0)
    expect(page.locator("#status-confirmation")).to_have_count(0)


def _assert_not_saved(action: Action) -> None:
    """`action` as the page was loaded: the database still holds the same version."""
    assert Action.objects.get(pk=action.pk).version == action.version
    assert not StatusUpdate.objects.filter(comment=COMMENT).exists()


def _save_again(page: Page, action: Action) -> None:
    """The same form, sent again once the server is back, saves once."""
    version = Action.objects.get(pk=action.pk).version
    page.get_by_role("button", name=SAVE).click()
    expect(page.locator("#status-confirmation")).to_contain_text("mis à jour")
    expect(page.get_by_role("alert")).to_have_count(0)
    saved = Action.objects.get(pk=action.pk)
    assert (saved.version, saved.status, saved.progress) == (version + 1, "in_progress", 60)
    assert StatusUpdate.objects.filter(action=action, comment=COMMENT).count() == 1


@contextlib.contextmanager
def _refused_writes(table: str) -> Iterator[None]:
    """The database refuses the write: the table the service inserts into is away meanwhile."""
    name, away = connection.ops.quote_name(table), connection.ops.quote_name(f"{table}_away")
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE {name} RENAME TO {away}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"ALTER TABLE {away} RENAME TO {name}")


# --- The status update ------------------------------------------------------------------------


def test_it_keeps_the_update_and_says_so_when_the_server_is_stopped(
    demo, page: Page, log_in, server: StoppableServer
):
    action = _open_sheet(page, log_in)
    _type_update(page)
    server.stop()
    page.get_by_role("button", name=SAVE).click()

    _expect_failure_shown(page, "Le serveur ne répond pas")
    _assert_not_saved(action)

    server.start()
    _save_again(page, action)


def test_it_keeps_the_update_and_says_so_when_the_server_fails(demo, page: Page, log_in):
    action = _open_sheet(page, log_in)
    _type_update(page)
    with _refused_writes(StatusUpdate._meta.db_table):
        with page.expect_response(UPDATE_URL) as answer:
            page.get_by_role("button", name=SAVE).click()
        assert answer.value.status == 500
        _expect_failure_shown(page, "le serveur a rencontré une erreur")
    _assert_not_saved(action)

    _save_again(page, action)


def test_it_keeps_the_update_and_says_so_when_the_server_does_not_answer_in_time(
    demo, page: Page, log_in
):
    action = _open_sheet(page, log_in)
    # A request that never ends must end in a message: htmx's default (0) waits forever.
    assert page.evaluate("() => htmx.config.timeout") > 0
    page.evaluate("() => { htmx.config.timeout = 500; }")  # not the real wait, in a test
    held: list[Route] = []
    page.route(UPDATE_URL, lambda route: held.append(route))  # received, never answered
    _type_update(page)
    page.get_by_role("button", name=SAVE).click()

    _expect_failure_shown(page, "Le serveur n'a pas répondu à temps")
    assert held, "the request did leave the browser"
    _assert_not_saved(action)

    page.unroute(UPDATE_URL)
    _save_again(page, action)


def test_it_keeps_the_update_and_says_so_when_the_server_refuses_it(demo, page: Page, log_in):
    action = _open_sheet(page, log_in)
    _type_update(page)
    # Meanwhile the action passed to no lead: its partner may no longer update it.
    Action.objects.filter(pk=action.pk).update(lead_organisation=None)
    with page.expect_response(UPDATE_URL) as answer:
        page.get_by_role("button", name=SAVE).click()
    assert answer.value.status == 403

    _expect_failure_shown(page, "Le serveur a refusé l'enregistrement")
    _assert_not_saved(action)


def test_it_still_shows_the_conflict_and_keeps_the_update(demo, page: Page, log_in):
    action = _open_sheet(page, log_in)
    _type_update(page)
    a11y.someone_else_updates()  # after the page was loaded
    page.get_by_role("button", name=SAVE).click()

    expect(page.locator("#status-panel .conflict")).to_be_focused()
    expect(page.locator(".request-failure")).to_have_count(0)
    expect(page.get_by_label("Commentaire")).to_have_value(COMMENT)
    _save_again(page, action)


def test_it_sends_an_expired_session_to_the_login_page_without_an_error(demo, page: Page, log_in):
    action = _open_sheet(page, log_in)
    _type_update(page)
    page.context.clear_cookies()  # the session ended (and its CSRF cookie with it)
    page.get_by_role("button", name=SAVE).click()

    page.wait_for_url(re.compile(r"/comptes/login/\?next="))
    expect(page.get_by_role("alert")).to_have_count(0)
    _assert_not_saved(action)


# --- The list's filters -----------------------------------------------------------------------


def test_it_says_the_list_was_not_refreshed_when_a_filter_fails(demo, page: Page, log_in):
    log_in("coordination")
    page.goto(reverse("actions:list"))
    count = page.locator("#result-count").inner_text()
    search = page.get_by_label("Recherche")
    filtered = re.compile(r"/plan/actions/\?")
    page.route(filtered, lambda route: route.abort("connectionrefused"))
    search.fill("3.1")

    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Le serveur ne répond pas")
    expect(alert).to_contain_text("ne tient pas compte de votre dernière demande")
    expect(search).to_be_focused()  # someone typing keeps typing where they were
    expect(search).to_have_value("3.1")
    expect(page.locator("[aria-busy], .htmx-request")).to_have_count(0)
    expect(page.locator("#result-count")).to_have_text(count)

    page.unroute(filtered)
    search.fill("3.1 ")  # the next keystroke filters again
    expect(page.locator("#result-count")).to_contain_text("correspond")
    expect(page.get_by_role("alert")).to_have_count(0)


def test_it_reloads_the_page_on_back_so_a_stopped_server_is_never_silent(
    demo, page: Page, log_in, server: StoppableServer
):
    log_in("coordination")
    page.goto(reverse("actions:list"))
    page.get_by_label("Recherche").fill("3.1")
    page.wait_for_url(re.compile(r"q=3\.1"))
    expect(page.locator("#result-count")).to_contain_text("correspond")
    server.stop()
    with contextlib.suppress(PlaywrightError):  # the navigation fails: that is the point
        page.go_back()

    # htmx 2 would fetch the previous list itself and, on failure, leave the filtered list under
    # the unfiltered URL without a word; a real reload ends in the browser's own error page.
    expect(page.locator("body")).to_contain_text("ERR_CONNECTION_REFUSED")

    server.start()
    page.reload()
    expect(page.get_by_label("Recherche")).to_have_value("")
    expect(page.locator("#result-count")).not_to_contain_text("correspond")
