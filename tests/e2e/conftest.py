"""Browser journeys: Playwright driving Debian's Chromium against pytest-django's live server.

Everything here is marked `e2e`; `make test` runs it. On failure a screenshot and the page's
HTML are kept under `test-artifacts/` (named after the test) for CI to collect.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

# Playwright's sync API keeps an event loop running in the test thread; Django's ORM would
# refuse every query from it. The tests themselves are plain synchronous code.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
# Without these flags Chromium tries Google's services at every start (closed network here).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.e2e)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):
    report = yield
    if report.when == "call" and report.failed:
        page: Page | None = getattr(item, "funcargs", {}).get("page")
        if page is not None and not page.is_closed():
            ARTIFACTS.mkdir(exist_ok=True)
            stem = re.sub(r"[^\w.-]+", "_", item.nodeid)[-150:]
            page.screenshot(path=str(ARTIFACTS / f"{stem}.png"), full_page=True)
            (ARTIFACTS / f"{stem}.html").write_text(page.content(), encoding="utf-8")
    return report


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"Chromium not found at {CHROMIUM}: run `bin/system-deps` (apt-get install chromium)."
        )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser, live_server, transactional_db) -> Iterator[Page]:
    context = browser.new_context(
        base_url=live_server.url, locale="fr-FR", timezone_id="Europe/Paris"
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def demo(transactional_db) -> None:
    """Manosque's real strategy and the demo accounts, as `make run` loads them.

    The password is the one `log_in` types, whatever DEMO_PASSWORD the shell exports (which
    `seed_demo` would read): the journeys must not depend on the caller's environment.
    """
    from django.core.management import call_command

    from clspdr.demo import DEFAULT_PASSWORD, demo_seed

    call_command("load_strategy", verbosity=0)
    demo_seed(password=DEFAULT_PASSWORD)


@pytest.fixture
def log_in(page: Page):
    """`log_in(username)` fills the real login form, as a person would."""
    from clspdr.demo import DEFAULT_PASSWORD

    def _log_in(username: str, password: str = DEFAULT_PASSWORD) -> Page:
        page.context.clear_cookies()
        page.goto("/comptes/login/")
        page.get_by_label(re.compile("identifiant|nom d.utilisateur|e-mail", re.I)).first.fill(
            username
        )
        page.get_by_label(re.compile("mot de passe", re.I)).first.fill(password)
        page.get_by_role("button", name=re.compile("connexion|connecter", re.I)).click()
        page.wait_for_url(re.compile(r"/$"))
        return page

    return _log_in
