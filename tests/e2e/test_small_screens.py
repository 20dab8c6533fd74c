"""Phones: every page within 320 px and 1366 px without scrolling sideways, the list's actions
as cards on a phone."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from actions import services
from clspdr.models import User
from tests.e2e import a11y

WIDTHS = (320, 1366)
# A word wider than a phone, as people paste them into comments.
LONG_WORD = "https://www.manosque.fr/actualites/prevention-de-la-delinquance-2026/compte-rendu"

# Pages by persona: the list, the sheet and the home page for all of them, the rest as whoever
# sees them (tests/test_access_matrix.py).
PAGES = {
    "anonymous": ("account_login", "account_reset_password"),
    "coordination": (
        "home",
        "axes:dashboard",
        "axes:axis",
        "actions:list",
        "actions:detail",
        "actions:edit",
        "actions:history",
        "journal",
        "account_change_password",
    ),
    a11y.UPDATER: ("home", "actions:list", "actions:detail"),
    "police": ("home", "actions:list", "actions:detail"),
}

_OVERFLOW_JS = r"""() => {
  const root = document.documentElement;
  // A box that scrolls on its own hides what sticks out (a table's amounts, say); a box of
  // 1 px is hidden from sight on purpose (headers kept for screen readers).
  const clipped = [...document.querySelectorAll("main *")]
    .filter((el) => ["auto", "scroll", "hidden"].includes(getComputedStyle(el).overflowX))
    .filter((el) => el.clientWidth > 1)
    .filter((el) => el.scrollWidth > el.clientWidth + 1)
    .map((el) => el.tagName.toLowerCase() + "." + String(el.className));
  return {page: root.scrollWidth - root.clientWidth, clipped};
}"""


def _path(name: str) -> str:
    return a11y.path_of(a11y.SweepPage(name, name))


def _comment_with_a_long_word() -> None:
    action = a11y.swept_action()
    services.action_update_status(
        action=action,
        by=User.objects.get(username="coordination"),
        status=action.status,
        progress=action.progress,
        comment=f"Compte rendu en ligne : {LONG_WORD}",
        expected_version=action.version,
    )


@pytest.mark.parametrize("persona", PAGES)
def test_it_never_scrolls_sideways(persona: str, demo, page: Page, log_in):
    _comment_with_a_long_word()
    if persona != "anonymous":
        log_in(persona)
    problems = []
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 800})
        for name in PAGES[persona]:
            page.goto(_path(name))
            overflow = page.evaluate(_OVERFLOW_JS)
            if overflow["page"] > 0:
                problems.append(f"{name} at {width} px scrolls {overflow['page']} px sideways")
            problems += [f"{name} at {width} px cuts {el}" for el in overflow["clipped"]]
    assert problems == []


def test_it_shows_each_action_as_a_card_on_a_phone(demo, page: Page, log_in):
    log_in("police")
    page.set_viewport_size({"width": 320, "height": 640})
    page.goto(_path("actions:list"))
    row = page.locator("#results tbody tr").first
    row.scroll_into_view_if_needed()
    for what, cell in {
        "status": row.locator(".badge"),
        "progress": row.locator("progress"),
        "date": row.locator("td[data-label]").last,
    }.items():
        box = cell.bounding_box()
        assert box is not None, what
        assert box["x"] >= 0 and box["x"] + box["width"] <= 320, f"the {what} is off-screen"
    # Still a table for screen readers: the column headers are there, out of sight only.
    head = page.locator("#results thead")
    assert head.evaluate("(thead) => thead.getBoundingClientRect().width") <= 1
    assert head.get_by_role("columnheader", name="Statut").count() == 1
    assert page.locator("#results table").get_attribute("role") == "table"
