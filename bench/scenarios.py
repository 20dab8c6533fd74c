"""What `make bench` measures: add a page here, in one or two lines (see bench/README.md).

Latency scenarios run against the demo (Manosque's strategy, as `seed_demo` loads it), then
against the same database grown to a département (bench/large.py); query counts run against
a synthetic strategy grown to 1, 50 then 500 actions. Paths are `str.format` templates:
`{sheet_pk}` and `{search}` come from `bench.data.demo_targets`, `{scale_slug}` and
`{scale_sheet_pk}` from `bench.data.ScaleData.placeholders`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlencode

FLOOR = "floor"
FLOOR_PATH = "/bench/floor/"  # served by the floor server only (bench/floor_urls.py)
TRIVIAL = "trivial"
TRIVIAL_PATH = "/bench/trivial/"  # served by bench/urls.py only
HTMX = {"HX-Request": "true"}

DASHBOARD = "dashboard"
HOME = "coordinator home"
LIST = "list (filtered)"
LIST_PARTNER = "list (filtered), partner"
FRAGMENT = "list fragment (htmx)"
SHEET = "sheet"
MINE = "mes actions, partner"
POST = "status update POST"


@dataclass(frozen=True)
class Scenario:
    """One request under load: `path` as `persona` (a demo account, none for the floor).

    `method` POST is the status update of bench.load.StatusPost; `path` then has `{pk}`.
    """

    name: str
    path: str
    persona: str = "coordination"
    headers: dict[str, str] = field(default_factory=dict)
    method: str = "GET"
    server: str = "app"  # "floor": the second gunicorn, no middleware

    @property
    def reads(self) -> bool:
        """A read request of the application: it must write no session."""
        return self.method == "GET" and self.server == "app"


@dataclass(frozen=True)
class Target:
    """The closed loop's p95 of `scenario` ÷ that of `baseline`, at every level, ≤ `max_ratio`."""

    label: str
    scenario: str
    baseline: str
    max_ratio: float


@dataclass(frozen=True)
class QueryPage:
    """One page whose queries are counted at each scale (1, 50, 500 actions)."""

    name: str
    path: str
    persona: str = "coordination"
    headers: dict[str, str] = field(default_factory=dict)


FILTERS = urlencode({"statut": "in_progress", "q": "{search}"}, safe="{}")
LIST_PATH = f"/plan/actions/?{FILTERS}"
MINE_PATH = "/plan/actions/?mes_actions=on"
PARTNER = "police"

# Every scenario runs in both loops, on the demo (small) and, closed loop, on the département
# dataset (large). `{sheet_pk}`, `{search}` come from bench.data.demo_targets.
SCENARIOS: tuple[Scenario, ...] = (
    Scenario(FLOOR, FLOOR_PATH, persona="", server="floor"),
    Scenario(TRIVIAL, TRIVIAL_PATH),
    Scenario(DASHBOARD, "/plan/"),
    Scenario(HOME, "/"),
    Scenario(LIST, LIST_PATH),
    # The same rows as the coordinator's list: what being a partner costs (permission checks).
    Scenario(LIST_PARTNER, LIST_PATH, persona=PARTNER),
    Scenario(FRAGMENT, LIST_PATH, headers=HTMX),
    Scenario(SHEET, "/plan/actions/{sheet_pk}/"),
    Scenario(MINE, MINE_PATH, persona=PARTNER),
    Scenario(POST, "/plan/actions/{pk}/avancement/", method="POST"),
)

# The Targets of issue 9: closed loop, p95, 1 and 8 clients, same run, demo dataset.
PAGE_MAX = 3.0
TARGETS: tuple[Target, ...] = (
    Target("trivial ÷ floor", TRIVIAL, FLOOR, 3.0),
    *(
        Target(f"{page} ÷ trivial", page, TRIVIAL, PAGE_MAX)
        for page in (DASHBOARD, HOME, LIST, SHEET, MINE)
    ),
    Target("list fragment (htmx) ÷ trivial", FRAGMENT, TRIVIAL, 1.5),
    Target("status update POST ÷ trivial", POST, TRIVIAL, 3.0),
    Target("partner's filtered list ÷ coordinator's", LIST_PARTNER, LIST, 1.1),
)
LARGE_MAX = 1.2  # every page, département dataset ÷ demo dataset (closed loop p95)
SESSION_WRITES_MAX = 0.0  # per read request

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
    """Both loops: the open loop's fixed total rate, the closed loop's rounds of bursts."""

    # Open loop: requests per second, all clients together. Low enough that one client can
    # keep up with the slowest page: above that, a 1-client run measures its own backlog.
    rate: float = 10.0
    concurrency: tuple[int, ...] = (1, 8)
    seconds_per_round: float = 1.6  # two requests per client at 8 clients and 10 requests/s
    rounds: int = 3  # scenarios interleaved round by round, so drifts hit them all alike
    # Closed loop: each round, every scenario in turn (the floor among them) gets a burst of
    # `burst` requests in all, back to back, shared by the clients; the order rotates.
    closed_rounds: int = 8
    burst: int = 16
    warmup_requests: int = 3  # per scenario and level (at least one per client), not measured
    timeout: float = 10.0  # per request
    grace: float = 10.0  # after the last scheduled send, then what is left is counted late

    @property
    def seconds_per_scenario(self) -> float:
        return self.seconds_per_round * self.rounds

    def per_client(self, clients: int) -> int:
        """Requests of each client in one closed-loop burst."""
        return max(1, round(self.burst / clients))
