"""What `make bench` measures: add a page here, in one or two lines (see bench/README.md).

Latency scenarios run against the demo (Manosque's strategy, as `seed_demo` loads it); query
counts run against a synthetic strategy grown to 1, 50 then 500 actions. Paths are
`str.format` templates: `{sheet_pk}` and `{search}` come from `bench.data.demo_targets`,
`{scale_slug}` and `{scale_sheet_pk}` from `bench.data.ScaleData.placeholders`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlencode

TRIVIAL = "trivial"
TRIVIAL_PATH = "/bench/trivial/"  # served by bench/urls.py only
HTMX = {"HX-Request": "true"}

# Pages p95 ≤ 3× the trivial view; fragments ≤ 0.3× their full page; permission-filtered
# ≤ 1.2× unfiltered (issue 3).
PAGE_MAX = 3.0
FRAGMENT_MAX = 0.3
PERMISSION_MAX = 1.2


@dataclass(frozen=True)
class Baseline:
    """Divide a scenario's p50/p95 by those of `scenario`; the target bounds the p95 ratio."""

    scenario: str
    max_ratio: float
    label: str = ""  # what the target means, for the table


@dataclass(frozen=True)
class Scenario:
    """One page under load: `path` as `persona`, with extra request `headers`."""

    name: str
    path: str
    persona: str = "coordination"
    headers: dict[str, str] = field(default_factory=dict)
    baselines: tuple[Baseline, ...] = (Baseline(TRIVIAL, PAGE_MAX, "page"),)


@dataclass(frozen=True)
class QueryPage:
    """One page whose queries are counted at each scale (1, 50, 500 actions)."""

    name: str
    path: str
    persona: str = "coordination"
    headers: dict[str, str] = field(default_factory=dict)


FILTERS = urlencode({"statut": "in_progress", "q": "{search}"}, safe="{}")
LIST = f"/plan/actions/?{FILTERS}"
MINE = "/plan/actions/?mes_actions=on"

SCENARIOS: tuple[Scenario, ...] = (
    Scenario(TRIVIAL, TRIVIAL_PATH, baselines=()),
    Scenario("dashboard", "/plan/"),
    Scenario("list (filtered)", LIST),
    Scenario(
        "list fragment (htmx)",
        LIST,
        headers=HTMX,
        baselines=(
            Baseline(TRIVIAL, PAGE_MAX, "page"),
            Baseline("list (filtered)", FRAGMENT_MAX, "fragment"),
        ),
    ),
    Scenario("sheet", "/plan/actions/{sheet_pk}/"),
    # The same rows as the coordinator's list: what being a partner costs (permission checks).
    Scenario(
        "list (filtered), police",
        LIST,
        persona="police",
        baselines=(
            Baseline(TRIVIAL, PAGE_MAX, "page"),
            Baseline("list (filtered)", PERMISSION_MAX, "permission"),
        ),
    ),
    # The list filtered by the permission itself; the coordinator may update everything, so
    # his is unfiltered (and longer: the ratio also counts the rows the partner does not get).
    Scenario("my actions, coordinator", MINE),
    Scenario(
        "my actions, police",
        MINE,
        persona="police",
        baselines=(
            Baseline(TRIVIAL, PAGE_MAX, "page"),
            Baseline("my actions, coordinator", PERMISSION_MAX, "permission"),
        ),
    ),
)

SCALE_FILTERS = urlencode(
    {"strategie": "{scale_slug}", "statut": "in_progress", "q": "générée"}, safe="{}"
)
SCALE_LIST = f"/plan/actions/?{SCALE_FILTERS}"

QUERY_PAGES: tuple[QueryPage, ...] = (
    QueryPage(TRIVIAL, TRIVIAL_PATH),
    QueryPage("dashboard", "/plan/strategies/{scale_slug}/"),
    QueryPage("list (filtered)", SCALE_LIST),
    QueryPage("list fragment (htmx)", SCALE_LIST, headers=HTMX),
    QueryPage("list, police, my actions", SCALE_LIST + "&mes_actions=on", persona="police"),
    QueryPage("sheet", "/plan/actions/{scale_sheet_pk}/"),
    QueryPage("CSV export", "/plan/actions/export.csv?strategie={scale_slug}"),
)
SCALES = (1, 50, 500)
UPDATES_PER_ACTION = 5


@dataclass(frozen=True)
class LoadSettings:
    """A fixed total request rate, shared evenly by the clients of each concurrency level."""

    # Requests per second, all clients together. Low enough that one client can keep up with
    # the slowest page (≈ 50 ms here): above that, a 1-client run measures its own backlog.
    rate: float = 10.0
    concurrency: tuple[int, ...] = (1, 8)
    seconds_per_round: float = 1.6  # two requests per client at 8 clients and 10 requests/s
    rounds: int = 5  # scenarios interleaved round by round, so drifts hit them all alike
    warmup_requests: int = 10  # per scenario (at least one per client session), not measured
    timeout: float = 10.0  # per request
    grace: float = 10.0  # after the last scheduled send, then what is left is counted late

    @property
    def seconds_per_scenario(self) -> float:
        return self.seconds_per_round * self.rounds
