"""Before the session ends the page says so; if it ends anyway, the typed text comes back
after the login (static/js/session-timeout.js, clspdr/session.py).

The page's clock is Playwright's: the test jumps over the idle minutes instead of waiting
them. The server's session is real: it is pushed forward by "Rester connecté", and ended by
deleting its row, as its expiry would.
"""

from __future__ import annotations

import re

import pytest
from django.contrib.sessions.models import Session
from django.urls import reverse
from playwright.sync_api import Page, expect

from actions.models import Action, StatusUpdate
from clspdr.demo import DEFAULT_PASSWORD
from tests.e2e import a11y

COMMENT = "Réunion de locataires tenue ; compte rendu à venir, relecture par le bailleur."
SAVE = "Enregistrer la mise à jour"
IDLE_TIMEOUT = 5 * 60  # a short SESSION_IDLE_TIMEOUT


@pytest.fixture
def short_sessions(settings):
    settings.SESSION_COOKIE_AGE = IDLE_TIMEOUT


def _session(page: Page) -> Session:
    key = next(c["value"] for c in page.context.cookies() if c["name"].endswith("sessionid"))
    return Session.objects.get(session_key=key)


def _open_sheet_and_type(page: Page, log_in) -> Action:
    page.clock.install()  # before the first page: every page of the test runs on this clock
    log_in(a11y.UPDATER)
    action = a11y.swept_action()
    page.goto(reverse("actions:detail", kwargs={"pk": action.pk}))
    page.get_by_label(re.compile(r"^Statut\b")).select_option(label="En cours")
    page.get_by_label("Commentaire").fill(COMMENT)
    return action


def _seconds(page: Page, name: str) -> int:
    return int(page.locator("#session-timeout").get_attribute(f"data-{name}") or 0)


def _log_in_again(page: Page) -> None:
    page.get_by_role("link", name="Se reconnecter").click()
    page.wait_for_url(re.compile(r"/comptes/login/\?next="))
    page.get_by_label("Identifiant ou adresse e-mail").fill(a11y.UPDATER)
    page.get_by_label(re.compile("mot de passe", re.I)).first.fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name=re.compile("connecter", re.I)).click()


def _drafts(page: Page) -> list[str]:
    return page.evaluate(
        "() => Object.keys(sessionStorage).filter((key) => key.startsWith('clspdr:draft:'))"
    )


def test_it_warns_before_the_end_and_keeps_the_session(demo, short_sessions, page: Page, log_in):
    _open_sheet_and_type(page, log_in)
    idle, warn = _seconds(page, "idle"), _seconds(page, "warn")
    assert IDLE_TIMEOUT - 60 <= idle <= IDLE_TIMEOUT  # the refresh throttle's margin at most
    assert warn == 120

    page.clock.fast_forward((idle - warn - 5) * 1000)
    expect(page.get_by_role("alert")).to_have_count(0)
    page.clock.fast_forward(10_000)

    alert = page.get_by_role("alert")
    expect(alert).to_contain_text(re.compile(r"votre session va se fermer vers \d+ h \d\d"))
    expect(page.get_by_label("Commentaire")).to_be_focused()  # someone typing keeps typing
    before = _session(page).expire_date
    alert.get_by_role("button", name="Rester connecté").click()

    expect(page.get_by_role("alert")).to_have_count(0)
    assert _session(page).expire_date > before
    expect(page.get_by_label("Commentaire")).to_have_value(COMMENT)
    # Counted again from the click: no warning until the next idle stretch.
    page.clock.fast_forward((idle - warn - 5) * 1000)
    expect(page.get_by_role("alert")).to_have_count(0)


def test_it_gives_the_typed_text_back_after_the_session_ended(
    demo, short_sessions, page: Page, log_in
):
    action = _open_sheet_and_type(page, log_in)
    _session(page).delete()  # the session ends on the server
    page.clock.fast_forward((_seconds(page, "idle") + 1) * 1000)

    expect(page.get_by_role("alert")).to_contain_text("Votre session s'est fermée")
    _log_in_again(page)

    page.wait_for_url(re.compile(rf"/plan/actions/{action.pk}/$"))
    expect(page.locator("#messages")).to_contain_text("remis dans le formulaire")
    expect(page.get_by_label("Commentaire")).to_have_value(COMMENT)
    expect(page.get_by_label(re.compile(r"^Statut\b"))).to_have_value("in_progress")

    page.get_by_role("button", name=SAVE).click()
    expect(page.locator("#status-confirmation")).to_contain_text("mis à jour")
    assert StatusUpdate.objects.filter(action=action, comment=COMMENT).count() == 1
    assert _drafts(page) == []  # saved: nothing kept any more
    page.reload()
    expect(page.get_by_label("Commentaire")).to_have_value("")


def test_it_keeps_the_text_of_an_update_sent_after_the_session_ended(
    demo, short_sessions, page: Page, log_in
):
    """The page did not see the end coming (a computer asleep): the server sends the post to
    the login page, and the text comes back after it."""
    action = _open_sheet_and_type(page, log_in)
    _session(page).delete()
    page.get_by_role("button", name=SAVE).click()

    page.wait_for_url(re.compile(r"/comptes/login/\?next="))
    assert not StatusUpdate.objects.filter(comment=COMMENT).exists()
    page.get_by_label("Identifiant ou adresse e-mail").fill(a11y.UPDATER)
    page.get_by_label(re.compile("mot de passe", re.I)).first.fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name=re.compile("connecter", re.I)).click()

    page.wait_for_url(re.compile(rf"/plan/actions/{action.pk}/$"))
    expect(page.get_by_label("Commentaire")).to_have_value(COMMENT)


def test_it_forgets_text_left_unsaved_while_signed_in(demo, short_sessions, page: Page, log_in):
    action = _open_sheet_and_type(page, log_in)
    page.goto(reverse("home"))
    page.goto(reverse("actions:detail", kwargs={"pk": action.pk}))
    expect(page.get_by_label("Commentaire")).to_have_value("")
    assert _drafts(page) == []
