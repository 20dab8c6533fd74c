"""The accessibility sweep: which pages, as whom, and the checks axe cannot make (RGAA 4.1).

`pages_for(persona)` lists what `test_accessibility.py` opens for one persona. Most entries
come from the access matrix itself: every URL of `GET_EXPECTATIONS` answering 200 to a persona
is swept for that persona, so a new page is swept as soon as its expectation exists (add its
demo kwargs to `DEMO_KWARGS` if the URL takes some, or a reason to `NOT_SWEPT`). States that
need a person to act first (a filter, a refused form, a conflict, a failed save) and the error
pages are the `STATES` below: one `SweepPage(...)` entry each.

Checks: `axe_violations` (axe-core), `rgaa_problems` (labels, one <h1>, tables, text
alternatives, lang, skip link, linked error messages, duplicate ids), `title_problem` (a title
of its own; uniqueness across pages is checked by the test), `reflow_problems` (nothing wider
than 320 px) and `focus_problems` (a visible, contrasted focus indicator on the elements
reached with Tab). `focus_holder` tells where the focus landed after an htmx swap.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from axe_playwright_python.sync_playwright import Axe
from django.conf import settings
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, reverse
from playwright.sync_api import Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from actions import services
from actions.models import Action, Status
from axes.models import Axis
from clspdr.demo import DEFAULT_PASSWORD
from clspdr.models import User
from tests.conftest import PERSONAS
from tests.test_access_matrix import GET_EXPECTATIONS

PASSWORD = DEFAULT_PASSWORD  # the `demo` fixture seeds it, whatever the shell exports
BLOCKING_IMPACTS = frozenset({"serious", "critical"})
# The action and axis the sweep opens: 3.3 has a filled sheet, a budget and a sub-list; its
# lead (H2P: `bailleur`) and the coordinator may update it, nobody else.
SWEPT_ACTION = (3, "3")
UPDATER = "bailleur"

Setup = Callable[[Page], None]


@dataclass(frozen=True)
class SweepPage:
    name: str  # how the reports call it; unique
    url: str  # a URL name, reversed with DEMO_KWARGS, or a path ("/...")
    personas: tuple[str, ...] = ()  # empty: whoever GET_EXPECTATIONS answers `status` for `url`
    setup: Setup | None = None  # what the person does on the page before the checks
    status: int = 200  # expected status of the GET
    focus: str | None = None  # selector of the element that must hold the focus after `setup`


# --- Demo objects and URL kwargs ------------------------------------------------------------


def swept_action() -> Action:
    axis, number = SWEPT_ACTION
    return Action.objects.select_related("axis__strategy").get(axis__number=axis, number=number)


def _action_kwargs() -> dict[str, Any]:
    return {"pk": swept_action().pk}


# URL name -> kwargs built from the demo (URLs without arguments need no entry).
DEMO_KWARGS: dict[str, Callable[[], dict[str, Any]]] = {
    "axes:strategy": lambda: {"slug": swept_action().axis.strategy.slug},
    "axes:axis": lambda: {"pk": swept_action().axis_id},
    "actions:detail": _action_kwargs,
    "actions:edit": _action_kwargs,
    "actions:history": _action_kwargs,
    "actions:update_status": _action_kwargs,
    "account_reset_password_from_key": lambda: {"uidb36": "0", "key": "not-a-key"},
    "account_confirm_email": lambda: {"key": "not-a-key"},
}

# URLs answering 200 that are not HTML pages of ours, with the reason.
NOT_SWEPT = {
    "healthz": "JSON for the load balancer",
    "actions:export_csv": "a file download",
    "actions:export_xlsx": "a file download",
    "admin:index": "Django's admin templates, not ours (tests/clspdr/test_admin.py)",
}

# Two URLs showing the same page may share a title: /plan/ is the current strategy's page.
SAME_PAGE = {"axes:strategy": "axes:dashboard"}


def path_of(page: SweepPage) -> str:
    if page.url.startswith("/"):
        return page.url
    builder = DEMO_KWARGS.get(page.url)
    try:
        return reverse(page.url, kwargs=builder() if builder else None)
    except NoReverseMatch as error:
        raise AssertionError(
            f"{page.url} takes arguments: add its demo kwargs to DEMO_KWARGS in {__name__}"
        ) from error


# --- Setups: what a person does before the checks ---------------------------------------------


def _wait_for_htmx(page: Page) -> None:
    page.wait_for_function("() => !document.querySelector('.htmx-request')")


def fail_login(page: Page) -> None:
    page.get_by_label(re.compile("identifiant|nom d.utilisateur|e-mail", re.I)).first.fill(
        "personne-inconnue"
    )
    page.get_by_label(re.compile("mot de passe", re.I)).first.fill("pas-le-bon-mot-de-passe")
    page.get_by_role("button", name=re.compile("connecter", re.I)).click()
    expect(page.locator(".errorlist, [role=alert]").first).to_be_visible()


def filter_actions(page: Page) -> None:
    axis = Axis.objects.get(number=SWEPT_ACTION[0])
    page.get_by_label(re.compile(r"^Axe\b")).select_option(str(axis.pk))
    page.wait_for_url(re.compile(rf"axe={axis.pk}"))
    expect(page.locator("#result-count")).to_contain_text("correspond")
    _wait_for_htmx(page)


def _submit_status(page: Page, status: str, progress: str, comment: str) -> None:
    page.get_by_label(re.compile(r"^Statut\b")).select_option(label=status)
    page.get_by_role("spinbutton", name=re.compile("Avancement")).fill(progress)
    page.get_by_label("Commentaire").fill(comment)
    page.get_by_role("button", name="Enregistrer la mise à jour").click()


def submit_invalid_status(page: Page) -> None:
    """A rule only the server knows: a finished action is at 100 %."""
    _submit_status(page, "Réalisée", "40", "Terminée, presque.")
    expect(page.locator("#status-panel .errorlist")).to_be_visible()
    _wait_for_htmx(page)


def submit_status(page: Page) -> None:
    _submit_status(page, "En cours", "60", "Réunion de locataires tenue.")
    expect(page.locator("#status-confirmation")).to_contain_text("mis à jour")
    _wait_for_htmx(page)


def fail_status(page: Page) -> None:
    """The server answers 500 to an update: a message, and the form as it was typed."""
    page.route(
        re.compile(r"/avancement/$"),
        lambda route: route.fulfill(
            status=500, body=render_to_string("500.html"), content_type="text/html; charset=utf-8"
        ),
        times=1,
    )
    _submit_status(page, "En cours", "50", "Envoyé pendant une panne.")
    expect(page.locator(".request-failure")).to_be_visible()
    _wait_for_htmx(page)


def someone_else_updates() -> None:
    """The coordinator updates the swept action (from another tab, as far as the page knows)."""
    action = swept_action()
    services.action_update_status(
        action=action,
        by=User.objects.get(username="coordination"),
        status=Status.IN_PROGRESS,
        progress=45,
        comment="Mise à jour concurrente.",
        expected_version=action.version,
    )


def submit_status_in_conflict(page: Page) -> None:
    someone_else_updates()
    _submit_status(page, "En cours", "50", "Ma version.")
    expect(page.locator("#status-panel .conflict")).to_be_visible()
    _wait_for_htmx(page)


def submit_invalid_sheet(page: Page) -> None:
    page.get_by_label("Date de début").fill("2026-01-01")
    page.get_by_label("Date de fin").fill("2025-01-01")
    page.get_by_role("button", name="Enregistrer la fiche").click()
    expect(page.locator(".errorlist").first).to_be_visible()


def submit_sheet_in_conflict(page: Page) -> None:
    action = swept_action()
    services.action_edit_sheet(
        action=action,
        by=User.objects.get(username="coordination"),
        data={"objectives": "Objectifs revus dans un autre onglet."},
        expected_version=action.version,
    )
    page.get_by_label("Objectifs").fill("Mes objectifs.")
    page.get_by_role("button", name="Enregistrer la fiche").click()
    expect(page.locator(".conflict")).to_be_visible()


def paginate_actions(page: Page) -> None:
    """Enough actions for a second page, then "Page suivante" from the keyboard."""
    axis = Axis.objects.get(number=5)
    Action.objects.bulk_create(
        Action(axis=axis, number=str(n), position=n, title=f"Action ajoutée n° {n}")
        for n in range(100, 140)
    )
    page.reload()
    page.get_by_role("link", name="Page suivante").focus()
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"page=2"))
    expect(page.locator("#results caption")).to_contain_text("page 2")
    _wait_for_htmx(page)


def submit_expired_form(page: Page) -> None:
    """A form posted with a token that is no longer valid (session ended in another tab)."""
    page.evaluate(
        "() => document.querySelectorAll('[name=csrfmiddlewaretoken]')"
        ".forEach((input) => { input.value = 'x'.repeat(64); })"
    )
    page.get_by_role("button", name="Se déconnecter").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Formulaire expiré")


def show_server_error(page: Page) -> None:
    """500.html as Django's server_error view sends it (no context), served at a fake URL."""
    html = render_to_string("500.html")
    url = re.sub(r"^(https?://[^/]+).*$", r"\1/erreur-serveur/", page.url)
    page.route(
        url,
        lambda route: route.fulfill(status=500, body=html, content_type="text/html; charset=utf-8"),
    )
    page.goto(url)


# --- The pages ----------------------------------------------------------------------------------

STATES: list[SweepPage] = [
    SweepPage("login with an error", "account_login", ("anonymous",), fail_login),
    SweepPage(
        "action list after an htmx filter",
        "actions:list",
        ("coordination", "police"),
        filter_actions,
    ),
    SweepPage(
        "action sheet after a refused update",
        "actions:detail",
        ("coordination", UPDATER),
        submit_invalid_status,
        focus="#id_progress",
    ),
    SweepPage(
        "action sheet after an update",
        "actions:detail",
        (UPDATER,),
        submit_status,
        focus="#status-confirmation",
    ),
    SweepPage(
        "action sheet after a failed update",
        "actions:detail",
        (UPDATER,),
        fail_status,
        focus=".request-failure",
    ),
    SweepPage(
        "action sheet in conflict",
        "actions:detail",
        (UPDATER,),
        submit_status_in_conflict,
        focus=".conflict",
    ),
    SweepPage(
        "sheet editor with errors",
        "actions:edit",
        ("coordination",),
        submit_invalid_sheet,
        focus="#id_end_date",
    ),
    SweepPage(
        "sheet editor in conflict",
        "actions:edit",
        ("coordination",),
        submit_sheet_in_conflict,
        focus=".conflict",
    ),
    SweepPage("403 page", "actions:edit", ("plenier", "police"), status=403),
    SweepPage("403 page (no access)", "axes:dashboard", ("outsider",), status=403),
    SweepPage("404 page", "/page-introuvable/", ("anonymous", "police"), status=404),
    SweepPage("expired form page", "home", ("police",), submit_expired_form),
    SweepPage("server error page", "account_login", ("anonymous",), show_server_error),
    # Last: it adds actions to the plan.
    SweepPage(
        "action list after an htmx page change",
        "actions:list",
        ("coordination",),
        paginate_actions,
        focus="#results table",
    ),
]


def url_pages() -> list[SweepPage]:
    """One entry per HTML page of the access matrix."""
    return [SweepPage(name, name) for name in GET_EXPECTATIONS if name not in NOT_SWEPT]


def personas_of(page: SweepPage) -> tuple[str, ...]:
    """The entry's personas, or whoever the access matrix gives `page.status` for its URL."""
    if page.personas or page.url not in GET_EXPECTATIONS:
        return page.personas
    _, expected = GET_EXPECTATIONS[page.url]
    return tuple(p for p, status in expected.items() if status == page.status)


def pages_for(persona: str) -> list[SweepPage]:
    # The states last: some write to the database.
    return [p for p in [*url_pages(), *STATES] if persona in personas_of(p)]


def all_pages() -> list[SweepPage]:
    return [*url_pages(), *STATES]


def check_sweep_definition() -> list[str]:
    """What is wrong in the lists above (run without a browser)."""
    problems = [
        f"NOT_SWEPT names an unknown URL: {n}" for n in NOT_SWEPT if n not in GET_EXPECTATIONS
    ]
    problems += [
        f"SAME_PAGE names an unknown URL: {n}" for n in SAME_PAGE if n not in GET_EXPECTATIONS
    ]
    names = [p.name for p in all_pages()]
    problems += [f"two entries called {n!r}" for n in set(names) if names.count(n) > 1]
    for page in all_pages():
        if not page.personas and page.url not in GET_EXPECTATIONS:
            problems.append(f"{page.name}: {page.url} is not in GET_EXPECTATIONS: name personas")
        problems += [
            f"{page.name}: unknown persona {p!r}" for p in page.personas if p not in PERSONAS
        ]
    return problems


# --- Checks -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Violation:
    rule: str
    impact: str
    help: str
    targets: tuple[str, ...]

    def __str__(self) -> str:
        where = ", ".join(self.targets[:3]) + (" …" if len(self.targets) > 3 else "")
        return f"axe {self.impact} {self.rule}: {self.help} ({len(self.targets)}× {where})"


_AXE = Axe()


def axe_violations(page: Page) -> list[Violation]:
    results = _AXE.run(page)
    return [
        Violation(
            rule=v["id"],
            impact=v.get("impact") or "minor",
            help=v["help"],
            targets=tuple(" ".join(map(str, node["target"])) for node in v["nodes"]),
        )
        for v in results.response["violations"]
    ]


def is_blocking(violation: Violation) -> bool:
    return violation.impact in BLOCKING_IMPACTS


def page_title(page: Page) -> str:
    """The page's own part of <title>, without the site name base.html appends."""
    title = " ".join(page.title().split())
    suffix = f" — {settings.SITE_NAME}"
    return title[: -len(suffix)].strip() if title.endswith(suffix) else title


def title_problem(page: Page) -> str | None:
    own = page_title(page)
    if not own or own == settings.SITE_NAME:
        return f"<title> {page.title()!r} does not name the page (RGAA 8.6)"
    return None


# Evaluated in the page (through the DevTools protocol, so the CSP does not apply).
_RGAA_JS = r"""
() => {
  const problems = [];
  const text = (el) => (el ? el.textContent.replace(/\s+/g, " ").trim() : "");
  const describe = (el) => {
    if (!el) return "nothing";
    let s = el.tagName.toLowerCase();
    if (el.id) return `${s}#${el.id}`;
    if (el.getAttribute("name")) return `${s}[name="${el.getAttribute("name")}"]`;
    if (typeof el.className === "string" && el.className.trim()) s += "." + el.className.trim().split(/\s+/).join(".");
    return s;
  };
  const refs = (el, attribute) => (el.getAttribute(attribute) || "").split(/\s+/).filter(Boolean)
    .map((id) => document.getElementById(id));
  const named = (el) => (el.getAttribute("aria-label") || "").trim()
    || refs(el, "aria-labelledby").some((ref) => text(ref));
  const rendered = (el) => el.getClientRects().length > 0;

  // RGAA 8.3: default language.
  if (!document.documentElement.lang.trim()) problems.push("<html> has no lang (RGAA 8.3)");

  // RGAA 8.2: unique ids.
  const ids = new Map();
  for (const el of document.querySelectorAll("[id]")) ids.set(el.id, (ids.get(el.id) || 0) + 1);
  for (const [id, count] of ids) if (count > 1) problems.push(`id "${id}" used ${count} times (RGAA 8.2)`);

  // RGAA 9.1: exactly one <h1>.
  const h1 = document.querySelectorAll("h1").length;
  if (h1 !== 1) problems.push(`${h1} <h1> on the page, one expected (RGAA 9.1)`);

  // RGAA 11.1: every field has a label.
  const fields = document.querySelectorAll("input, select, textarea");
  for (const el of fields) {
    if (["hidden", "submit", "button", "reset", "image"].includes(el.type) || !rendered(el)) continue;
    const labelled = [...(el.labels || [])].some((label) => text(label)) || named(el);
    if (!labelled) problems.push(`${describe(el)} has no label (RGAA 11.1)`);
  }

  // RGAA 11.5, 11.6: radio buttons and checkboxes sharing a name are grouped under a legend.
  const groups = new Map();
  for (const el of document.querySelectorAll("input[type=radio], input[type=checkbox]")) {
    if (el.name && rendered(el)) groups.set(el.name, [...(groups.get(el.name) || []), el]);
  }
  for (const [name, members] of groups) {
    if (members.length < 2) continue;
    const fieldset = members[0].closest("fieldset");
    const group = members[0].closest('[role=group], [role=radiogroup]');
    const legend = fieldset && text(fieldset.querySelector(":scope > legend"));
    if (!legend && !(group && named(group))) problems.push(`the ${members.length} "${name}" choices have no fieldset with a legend (RGAA 11.5, 11.6)`);
  }

  // RGAA 11.10: an error message is tied to its field, which is marked invalid.
  for (const list of document.querySelectorAll("ul.errorlist:not(.nonfield)")) {
    if (!rendered(list)) continue;
    const owner = list.id && document.querySelector(`[aria-describedby~="${CSS.escape(list.id)}"]`);
    if (!owner) problems.push(`error «${text(list)}» is not referenced by its field's aria-describedby (RGAA 11.10)`);
    else if (owner.getAttribute("aria-invalid") !== "true") problems.push(`${describe(owner)} has an error but no aria-invalid="true" (RGAA 11.10)`);
  }

  // RGAA 5.4, 5.6, 5.7: data tables have a title and header cells tied to their data.
  for (const table of document.querySelectorAll("table:not([role=presentation])")) {
    const name = `table «${text(table.caption).slice(0, 50) || describe(table)}»`;
    const headers = table.querySelectorAll("th");
    if (!headers.length) problems.push(`${name} has no <th> (RGAA 5.6)`);
    for (const th of headers) {
      if (!th.getAttribute("scope") && !th.closest("thead")) problems.push(`${name}: <th> «${text(th)}» has no scope (RGAA 5.7)`);
    }
    if (!text(table.caption) && !named(table)) problems.push(`${name} has no caption nor aria-label (RGAA 5.4)`);
  }

  // RGAA 1.1, 1.2: images have a text alternative, or are hidden from assistive technologies.
  for (const img of document.querySelectorAll("img, input[type=image], area")) {
    if (!img.hasAttribute("alt") && !named(img)) problems.push(`${describe(img)} has no alt (RGAA 1.1)`);
  }
  for (const svg of document.querySelectorAll("svg")) {
    if (svg.closest('[aria-hidden="true"]') || svg.parentElement.closest("svg")) continue;
    if (svg.getAttribute("role") === "img") {
      if (!named(svg) && !text(svg.querySelector(":scope > title"))) problems.push(`${describe(svg)} role="img" has no <title> nor aria-labelledby (RGAA 1.1)`);
    } else {
      problems.push(`${describe(svg)}: an informative SVG needs role="img" and a text alternative, a decorative one aria-hidden="true" (RGAA 1.1, 1.2)`);
    }
  }
  for (const el of document.querySelectorAll('[role="img"]:not(svg)')) {
    if (!named(el)) problems.push(`${describe(el)} role="img" has no text alternative (RGAA 1.1)`);
  }

  // RGAA 12.7: a skip link, first in the tab order, to the main content.
  // Needed as soon as something can be focused before the content (a header, a menu).
  const main = document.getElementById("contenu");
  const focusable = 'a[href], button, input:not([type=hidden]), select, textarea, summary, [tabindex]:not([tabindex="-1"])';
  const all = [...document.querySelectorAll(focusable)].filter((el) => !el.disabled);
  const before = main ? all.filter((el) => main.compareDocumentPosition(el) & Node.DOCUMENT_POSITION_PRECEDING) : all;
  const skip = document.querySelector('a[href="#contenu"]');
  if (!main) problems.push('no main content "#contenu" (RGAA 12.7)');
  else if (h1 && !main.querySelector("h1")) problems.push('the <h1> is outside "#contenu" (RGAA 12.7)');
  if (before.length && !skip) problems.push('no skip link to "#contenu" (RGAA 12.7)');
  else if (before.length && before[0] !== skip) problems.push(`the skip link is not the first focusable element, ${describe(before[0])} is (RGAA 12.7)`);
  return problems;
}
"""


def rgaa_problems(page: Page) -> list[str]:
    problems: list[str] = page.evaluate(_RGAA_JS)
    return problems


_FOCUS_STEP_JS = r"""
() => {
  const rgba = (color) => {
    const parts = (color.match(/[\d.]+/g) || []).map(Number);
    return parts.length >= 3 ? [parts[0], parts[1], parts[2], parts.length > 3 ? parts[3] : 1] : null;
  };
  const luminance = ([r, g, b]) => {
    const channel = (c) => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
  };
  // The outline is drawn around the element: what it stands out against is the parent's background.
  const background = (el) => {
    for (let node = el.parentElement; node; node = node.parentElement) {
      const color = rgba(getComputedStyle(node).backgroundColor);
      if (color && color[3] === 1) return color;
    }
    return [255, 255, 255, 1];
  };
  const indicator = (el) => {
    const s = getComputedStyle(el);
    const visibleOutline = s.outlineStyle !== "none" && parseFloat(s.outlineWidth) > 0;
    let contrast = null;
    if (visibleOutline && rgba(s.outlineColor)) {
      const [a, b] = [luminance(rgba(s.outlineColor)), luminance(background(el))];
      contrast = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    }
    return {outline: `${s.outlineStyle} ${s.outlineWidth} ${s.outlineColor}`, visibleOutline, contrast,
            shadow: s.boxShadow, visibleShadow: s.boxShadow !== "none"};
  };
  const describe = (el) => {
    let s = el.tagName.toLowerCase();
    if (el.id) return `${s}#${el.id}`;
    const label = (el.getAttribute("aria-label") || el.textContent || el.getAttribute("name") || "").replace(/\s+/g, " ").trim();
    return label ? `${s} «${label.slice(0, 40)}»` : s;
  };
  const previous = window.__a11yFocus || null;
  const el = document.activeElement;
  const result = {done: !el || el === document.body, previous: null, current: null};
  if (previous && previous.el !== el) {
    result.previous = {label: previous.label, focused: previous.style, unfocused: indicator(previous.el)};
  }
  if (!result.done) {
    const box = el.getBoundingClientRect();
    const onScreen = box.width > 0 && box.height > 0 && box.right > 0 && box.bottom > 0
      && box.left < innerWidth && box.top < innerHeight;
    result.current = {label: describe(el), onScreen, seen: window.__a11ySeen.has(el)};
    window.__a11ySeen.add(el);
    window.__a11yFocus = {el, label: result.current.label, style: indicator(el)};
  }
  return result;
}
"""
MIN_FOCUS_CONTRAST = 3  # RGAA 3.3: a focus indicator stands out 3:1 from what surrounds it


def _indicator_problem(
    label: str, focused: dict[str, Any], unfocused: dict[str, Any]
) -> str | None:
    outline = focused["visibleOutline"] and focused["outline"] != unfocused["outline"]
    shadow = focused["visibleShadow"] and focused["shadow"] != unfocused["shadow"]
    if not (outline or shadow):
        return (
            f"{label}: no visible focus indicator (outline {focused['outline']},"
            f" box-shadow {focused['shadow']}) (RGAA 10.7)"
        )
    contrast = focused["contrast"]
    if outline and not shadow and contrast is not None and contrast < MIN_FOCUS_CONTRAST:
        return (
            f"{label}: focus outline {focused['outline']} contrasts"
            f" {contrast:.1f}:1 with its background (RGAA 3.3)"
        )
    return None


def focus_problems(page: Page, count: int, *, start: str | None = None) -> list[str]:
    """Tab through `count` elements from `start` (default: where the focus is): each must
    show a focus indicator that contrasts with its background (RGAA 10.7, 3.3).

    The indicator is compared with the same element's style once the focus has moved on, so a
    style that is always there (a border) does not count as a focus indicator.
    """
    page.evaluate(
        "(start) => { window.__a11yFocus = null; window.__a11ySeen = new Set();"
        " if (start) document.querySelector(start).focus(); }",
        start,
    )
    problems: list[str] = []
    for _ in range(count + 1):
        page.keyboard.press("Tab")
        step = page.evaluate(_FOCUS_STEP_JS)
        previous = step["previous"]
        if previous is not None:
            problem = _indicator_problem(
                previous["label"], previous["focused"], previous["unfocused"]
            )
            if problem:
                problems.append(problem)
        current = step["current"]
        if step["done"] or current is None or current["seen"]:
            break
        if not current["onScreen"]:
            problems.append(f"{current['label']}: focused but off-screen (RGAA 10.7)")
    return problems


_REFLOW_JS = r"""
() => {
  // What sticks out on the right, outside a scrolling container (wide tables have their own).
  const scrolls = (el) => ["auto", "scroll"].includes(getComputedStyle(el).overflowX);
  const outside = [...document.body.querySelectorAll("*")].filter((el) => {
    if (el.getBoundingClientRect().right <= innerWidth + 1) return false;
    for (let node = el.parentElement; node && node !== document.body; node = node.parentElement) {
      if (scrolls(node)) return false;
    }
    return true;
  });
  return outside.filter((el) => !outside.includes(el.parentElement)).slice(0, 3)
    .map((el) => el.tagName.toLowerCase() + (el.id ? "#" + el.id : el.className ? "." + String(el.className).trim().split(/\s+/).join(".") : ""));
}
"""


def reflow_problems(page: Page, width: int = 320) -> list[str]:
    """At 320 CSS pixels (400 % zoom), nothing needs horizontal scrolling (RGAA 10.11)."""
    size = page.viewport_size
    page.set_viewport_size({"width": width, "height": 640})
    try:
        wide: list[str] = page.evaluate(_REFLOW_JS)
    finally:
        if size is not None:
            page.set_viewport_size(size)
    return [f"{element} is wider than {width} px (RGAA 10.11)" for element in wide]


def focus_holder(page: Page, selector: str, timeout: float = 2_000) -> str | None:
    """None if the element matching `selector` holds the focus, else what holds it."""
    try:
        page.wait_for_function(
            "(selector) => document.activeElement && document.activeElement.matches(selector)",
            arg=selector,
            timeout=timeout,
        )
    except PlaywrightTimeout:
        holder: str = page.evaluate(
            "() => { const el = document.activeElement;"
            " return el ? el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') : 'nothing'; }"
        )
        return holder
    return None
