"""Accessibility in a real browser (RGAA 4.1): every page, as every persona.

For each persona, one browser context logs in once and opens every page `a11y.pages_for`
lists (the access matrix's 200s, plus the states after an htmx filter, a refused form, a
conflict, and the error pages). On each page: axe-core (no serious or critical violation; the
others are reported as warnings) and the RGAA points axe cannot see (`a11y.py`).
"""

from __future__ import annotations

import re
import warnings
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.core.cache import cache
from playwright.sync_api import Browser, BrowserContext, Page, expect

from clspdr.models import Role, User
from tests.conftest import PERSONAS
from tests.e2e import a11y

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


class AccessibilityWarning(UserWarning):
    """An axe violation of moderate or minor impact: to look at, not blocking."""


@pytest.fixture
def persona_context(browser: Browser, live_server, demo) -> Iterator[BrowserContext]:
    context = browser.new_context(
        base_url=live_server.url, locale="fr-FR", timezone_id="Europe/Paris"
    )
    context.set_default_timeout(10_000)
    yield context
    context.close()
    cache.clear()  # the failed login's throttling counter: not a model table, never flushed


def _log_in(page: Page, username: str) -> None:
    page.goto("/comptes/login/")
    page.get_by_label(re.compile("identifiant|nom d.utilisateur|e-mail", re.I)).first.fill(username)
    page.get_by_label(re.compile("mot de passe", re.I)).first.fill(a11y.PASSWORD)
    page.get_by_role("button", name=re.compile("connecter", re.I)).click()
    page.wait_for_url(re.compile(r"/$"))


def _outsider() -> User:
    """The demo has no account without access; the access matrix has one."""
    return User.objects.create_user(
        "outsider",
        email="outsider@example.org",
        password=a11y.PASSWORD,
        first_name="Camille",
        role=Role.MEMBER,
    )


def _keep_artifacts(page: Page, persona: str, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    stem = re.sub(r"[^\w.-]+", "_", f"a11y_{persona}_{name}")
    page.screenshot(path=str(ARTIFACTS / f"{stem}.png"), full_page=True)
    (ARTIFACTS / f"{stem}.html").write_text(page.content(), encoding="utf-8")


# How many elements to Tab through: from the top of the first page (the header is the same on
# every page), then from the start of the content (or from where a person's action left the focus).
TABS_FROM_TOP = 50
TABS_IN_CONTENT = 40


def _check(
    page: Page, swept: a11y.SweepPage, *, first: bool
) -> tuple[list[str], list[a11y.Violation]]:
    """Problems that fail the test, and the axe violations that only warn."""
    problems: list[str] = []
    if swept.setup is not None:
        swept.setup(page)
    if swept.focus is not None:
        holder = a11y.focus_holder(page, swept.focus)
        if holder is not None:
            problems.append(f"the focus is on {holder}, not on {swept.focus} (RGAA 7.1)")
    violations = a11y.axe_violations(page)
    problems += [str(v) for v in violations if a11y.is_blocking(v)]
    problems += a11y.rgaa_problems(page)
    if title := a11y.title_problem(page):
        problems.append(title)
    problems += a11y.reflow_problems(page)
    # Last: it moves the focus.
    if first:
        problems += a11y.focus_problems(page, TABS_FROM_TOP)
    else:
        start = "#contenu" if swept.setup is None else None
        problems += a11y.focus_problems(page, TABS_IN_CONTENT, start=start)
    return problems, [v for v in violations if not a11y.is_blocking(v)]


def test_it_defines_a_consistent_sweep():
    assert a11y.check_sweep_definition() == []


@dataclass
class Sweep:
    failures: dict[str, list[str]] = field(default_factory=dict)  # page -> problems
    warnings: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    titles: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))

    def shared_titles(self) -> list[str]:
        return [
            f"pages {sorted(urls)} share the title {title!r} (RGAA 8.6)"
            for title, urls in self.titles.items()
            if len(urls) > 1
        ]

    def report(self) -> str:
        return "\n".join(
            f"- {name}:\n" + "\n".join(f"    {p}" for p in problems)
            for name, problems in self.failures.items()
        )


def _sweep(page: Page, persona: str) -> Sweep:
    sweep = Sweep()
    for index, swept in enumerate(a11y.pages_for(persona)):
        response = page.goto(a11y.path_of(swept))
        assert response is not None
        if response.status != swept.status:
            sweep.failures[swept.name] = [f"HTTP {response.status}, expected {swept.status}"]
            continue
        problems, minor = _check(page, swept, first=index == 0)
        for violation in minor:
            sweep.warnings[f"{violation.impact} {violation.rule}: {violation.help}"].append(
                swept.name
            )
        if swept.status == 200:
            sweep.titles[a11y.page_title(page)].add(a11y.SAME_PAGE.get(swept.url, swept.url))
        if problems:
            sweep.failures[swept.name] = problems
            _keep_artifacts(page, persona, swept.name)
    if shared := sweep.shared_titles():
        sweep.failures["titles"] = shared
    return sweep


@pytest.mark.parametrize("persona", PERSONAS)
def test_it_finds_no_accessibility_barrier(persona: str, persona_context: BrowserContext):
    page = persona_context.new_page()
    if persona == "outsider":
        _outsider()
    if persona != "anonymous":
        _log_in(page, persona)
    sweep = _sweep(page, persona)
    for violation, names in sweep.warnings.items():
        message = f"{persona}: {violation} on {', '.join(names)}"
        warnings.warn(message, AccessibilityWarning, stacklevel=1)
    assert not sweep.failures, f"Accessibility barriers as {persona}:\n{sweep.report()}"


# --- Behaviours a sweep cannot see ----------------------------------------------------------

_RECORD_BUSY = """() => {
  window.__busy = [];
  new MutationObserver((records) => {
    for (const r of records) window.__busy.push([r.target.id, r.target.getAttribute("aria-busy")]);
  }).observe(document.body, {subtree: true, attributes: true, attributeFilter: ["aria-busy"]});
}"""


def _busy_changes(page: Page) -> list[list[str | None]]:
    changes: list[list[str | None]] = page.evaluate("() => window.__busy")
    return changes


def test_it_marks_what_htmx_refreshes_as_busy_until_it_is_swapped(demo, page: Page, log_in):
    log_in(a11y.UPDATER)
    page.goto("/plan/actions/")
    page.evaluate(_RECORD_BUSY)
    a11y.filter_actions(page)
    assert ["results", "true"] in _busy_changes(page)
    expect(page.locator("[aria-busy]")).to_have_count(0)

    page.goto(a11y.path_of(a11y.SweepPage("sheet", "actions:detail")))
    page.evaluate(_RECORD_BUSY)
    a11y.submit_status(page)
    assert ["status-panel", "true"] in _busy_changes(page)
    expect(page.locator("[aria-busy]")).to_have_count(0)


def test_it_moves_the_focus_to_the_content_with_the_skip_link(demo, page: Page, log_in):
    log_in("coordination")
    page.goto("/plan/")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Aller au contenu")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    page.keyboard.press("Enter")
    expect(page.locator("main#contenu")).to_be_focused()
    page.keyboard.press("Tab")  # the next Tab goes on inside the content, not back to the header
    assert page.evaluate("() => document.querySelector('main').contains(document.activeElement)")


def test_it_lets_a_partner_update_an_action_with_the_keyboard_only(demo, page: Page, log_in):
    log_in(a11y.UPDATER)
    page.goto(a11y.path_of(a11y.SweepPage("sheet", "actions:detail")))
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")  # the skip link
    shortcut = page.get_by_role("link", name="Mettre à jour l'avancement")
    for _ in range(10):
        page.keyboard.press("Tab")
        if shortcut.evaluate("(link) => link === document.activeElement"):
            break
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    expect(page.get_by_label(re.compile(r"^Statut\b"))).to_be_focused()
    page.keyboard.type("En c")  # a closed <select> picks the option typed
    page.keyboard.press("Tab")
    page.keyboard.press("Control+A")
    page.keyboard.type("55")
    page.keyboard.press("Tab")
    page.keyboard.type("Médiation relancée.")
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Enregistrer la mise à jour")).to_be_focused()
    page.keyboard.press("Enter")

    expect(page.locator("#status-confirmation")).to_contain_text("mis à jour")
    expect(page.locator("#status-confirmation")).to_be_focused()
    action = a11y.swept_action()
    assert (action.status, action.progress) == ("in_progress", 55)
