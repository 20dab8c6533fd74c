"""`make bench` (`python -m bench.run`): one run, two datasets, one Markdown report on stdout.

Steps (bench/README.md): recreate the PostgreSQL database `clspdr_bench`, migrate,
collectstatic, load the strategy and the demo; count the queries of each page at 1, 50 and 500
synthetic actions (rolled back); start the floor's gunicorn and the application's (2 sync
workers each, DEBUG=0); on the demo, measure every scenario in the open loop then the closed
loop at 1 and 8 clients; grow the département dataset in the same database and measure the
closed loop again. Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

from bench import data as data_module
from bench import large, load, report, server
from bench.scenarios import (
    FLOOR_PATH,
    LARGE_MAX,
    PARTNER,
    QUERY_PAGES,
    SCALES,
    SCENARIOS,
    SESSION_WRITES_MAX,
    TARGETS,
    LoadSettings,
    Scenario,
)

ROOT = Path(__file__).resolve().parent.parent
SMALL, LARGE = "demo", "département"
POST_ACTIONS = 40  # demo actions the status update POST goes round
DUMMY_SECRET_KEY = "bench-only-secret-key-" + "x" * 40  # a throwaway database, nothing to protect


_STARTED = time.monotonic()


def log(message: str) -> None:
    print(f"[bench {time.monotonic() - _STARTED:5.1f} s] {message}", file=sys.stderr, flush=True)


def environment(database_url: str, workdir: Path) -> dict[str, str]:
    """Production settings (DEBUG off, manifest static storage) on a throwaway database."""
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="bench.settings",
        DATABASE_URL=database_url,
        DEBUG="0",
        SECRET_KEY=DUMMY_SECRET_KEY,
        HTTPS="0",
        ALLOWED_HOSTS="127.0.0.1",
        # Production refuses localhost values (clspdr/settings.py); nothing is mailed here.
        SITE_URL="https://bench.invalid",
        DEFAULT_FROM_EMAIL="bench@bench.invalid",
        STATIC_ROOT=str(workdir / "static"),
        MEDIA_ROOT=str(workdir / "media"),
        EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend",
        LOG_LEVEL="WARNING",
    )
    return env


@dataclass(frozen=True)
class Options:
    load: LoadSettings
    scale: float  # of the département dataset (bench/large.py); 0 skips it


def parse_args(argv: Sequence[str] | None) -> Options:
    defaults = LoadSettings()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=float, default=defaults.rate, help="open loop, req/s")
    parser.add_argument("--seconds", type=float, default=defaults.seconds_per_round)
    parser.add_argument("--rounds", type=int, default=defaults.rounds, help="open loop")
    parser.add_argument("--closed-rounds", type=int, default=defaults.closed_rounds)
    parser.add_argument("--burst", type=int, default=defaults.burst, help="closed loop")
    parser.add_argument(
        "--scale", type=float, default=1.0, help="département dataset size (0 skips it)"
    )
    args = parser.parse_args(argv)
    if not (0 < args.rate <= 200 and 0 < args.seconds <= 60 and 0 < args.rounds <= 10):
        parser.error("rate in (0, 200], seconds in (0, 60], rounds in (0, 10]")
    if not (0 < args.closed_rounds <= 100 and 0 < args.burst <= 1000 and 0 <= args.scale <= 2):
        parser.error("closed-rounds in (0, 100], burst in (0, 1000], scale in [0, 2]")
    load_settings = LoadSettings(
        rate=args.rate,
        seconds_per_round=args.seconds,
        rounds=args.rounds,
        closed_rounds=args.closed_rounds,
        burst=args.burst,
    )
    return Options(load_settings, args.scale)


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)  # unwinds through the `finally` that stops gunicorn


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    # Ctrl-C must stop gunicorn even when started from a shell that made us ignore SIGINT.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    os.chdir(ROOT)
    started = time.monotonic()
    try:
        with tempfile.TemporaryDirectory(prefix="clspdr-bench-") as tmp:
            output = run(options, Path(tmp))
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    print(output)
    print(f"\nTotal run time: {time.monotonic() - started:.0f} s.")
    return 0


@dataclass
class Results:
    """Everything a run measured, for the report."""

    options: Options
    load_before: float
    postgres: str
    django_version: str
    paths: dict[str, str]
    scale_counts: dict[int, dict[str, int]]
    open_small: dict[int, dict[str, load.Summary]]
    closed: dict[str, Measured] = field(default_factory=dict)  # by dataset
    queries: dict[str, dict[str, int]] = field(default_factory=dict)
    reminders: dict[str, data_module.ReminderCount] = field(default_factory=dict)
    grown: large.Grown | None = None


@dataclass(frozen=True)
class Measured:
    summaries: dict[int, dict[str, load.Summary]]
    writes: dict[int, dict[str, int]]  # session rows written during each read scenario


class Bench:
    """The servers' ports, the sessions and the targets of one run."""

    def __init__(self, settings: LoadSettings, paths: Mapping[str, str], url: str) -> None:
        from django.conf import settings as django_settings

        from bench import data

        self.settings = settings
        self.paths = paths
        self.cookie = django_settings.SESSION_COOKIE_NAME
        self.csrf_cookie = django_settings.CSRF_COOKIE_NAME
        personas = sorted({s.persona for s in SCENARIOS if s.persona})
        self.sessions = {p: data.session_keys(p, max(settings.concurrency)) for p in personas}
        self.session_writes = data.SessionWrites(url)
        self.ports: dict[str, int] = {}

    def clients(self, level: int) -> dict[tuple[str, str], list[load.Client]]:
        by_key: dict[tuple[str, str], list[load.Client]] = {}
        for scenario in SCENARIOS:
            key = (scenario.server, scenario.persona)
            if key in by_key:
                continue
            keys = self.sessions.get(scenario.persona, [""] * level)[:level]
            by_key[key] = [
                load.Client(
                    self.ports[scenario.server],
                    {self.cookie: key} if key else {},
                    self.settings.timeout,
                    index,
                )
                for index, key in enumerate(keys)
            ]
        return by_key

    def targets(self, level: int, versions: Mapping[int, int]) -> dict[str, load.Target]:
        targets: dict[str, load.Target] = {}
        for scenario in SCENARIOS:
            path = self.paths[scenario.name]
            if scenario.method == "POST":
                targets[scenario.name] = load.StatusPost(path, versions, self.csrf_cookie, level)
            else:
                targets[scenario.name] = load.Get(path, scenario.headers)
        return targets

    def warm(
        self,
        clients: Mapping[tuple[str, str], list[load.Client]],
        targets: Mapping[str, load.Target],
    ) -> None:
        for scenario in SCENARIOS:
            mine = clients[(scenario.server, scenario.persona)]
            body = load.warm_up(mine, targets[scenario.name], self.settings.warmup_requests)
            _check_body(scenario, body)

    def open_loop(self, level: int, versions: Mapping[int, int]) -> dict[str, load.Summary]:
        clients, targets = self.clients(level), self.targets(level, versions)
        self.warm(clients, targets)
        samples = {scenario.name: load.Samples() for scenario in SCENARIOS}
        for round_index in range(self.settings.rounds):
            for scenario in _rotated(round_index):
                log(f"open loop, {level} client(s), round {round_index + 1}: {scenario.name}")
                samples[scenario.name].extend(
                    load.open_loop(
                        clients[(scenario.server, scenario.persona)],
                        targets[scenario.name],
                        rate=self.settings.rate,
                        seconds=self.settings.seconds_per_round,
                        grace=self.settings.grace,
                        seed=level * 1000 + round_index,
                    )
                )
        _close(clients)
        return {name: load.summarise(s) for name, s in samples.items()}

    def closed_loop(
        self, level: int, versions: Mapping[int, int]
    ) -> tuple[dict[str, load.Summary], dict[str, int]]:
        clients, targets = self.clients(level), self.targets(level, versions)
        self.warm(clients, targets)
        samples = {scenario.name: load.Samples() for scenario in SCENARIOS}
        writes = dict.fromkeys(samples, 0)
        per_client = self.settings.per_client(level)
        for round_index in range(self.settings.closed_rounds):
            log(f"closed loop, {level} client(s), round {round_index + 1}")
            for scenario in _rotated(round_index):
                before = self.session_writes.total()
                samples[scenario.name].extend(
                    load.closed_loop(
                        clients[(scenario.server, scenario.persona)],
                        targets[scenario.name],
                        per_client,
                    )
                )
                writes[scenario.name] += self.session_writes.total() - before
        _close(clients)
        return {name: load.summarise(s) for name, s in samples.items()}, writes


def _rotated(round_index: int) -> list[Scenario]:
    """Each round starts elsewhere: no scenario always first, or right after the same one."""
    shift = round_index % len(SCENARIOS)
    return [*SCENARIOS[shift:], *SCENARIOS[:shift]]


def _close(clients: Mapping[tuple[str, str], list[load.Client]]) -> None:
    for group in clients.values():
        for client in group:
            client.close()


def run(options: Options, workdir: Path) -> str:
    from bench import data

    settings = options.load
    load_before = _load_average()  # before any work of ours: the rest of the machine

    url = data.database_url()
    env = environment(url, workdir)
    os.environ.update(env)  # before Django reads its settings, in this process too
    log(f"recreating database {data.database_name(url)}")
    postgres = data.recreate_database(url)

    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.db import connections
    from django.utils import timezone

    log("migrate, collectstatic, load_strategy, seed_demo --force")
    data.prepare()
    data.count_session_writes()
    scale_counts = data.rolled_back(_count_queries)  # the demo stays as people see it
    data.analyze()
    demo = data.demo_targets()
    placeholders = {"sheet_pk": demo.sheet_pk, "search": demo.search}
    paths = {s.name: s.path.format(**placeholders, pk="{pk}") for s in SCENARIOS}
    post_pool = list(data.post_versions(POST_ACTIONS, demo.sheet_pk))
    before_posts = data.post_state(post_pool)

    def counts(dataset: str) -> None:
        log(f"{dataset}: queries of each request")
        results.queries[dataset] = data.count_request_queries(SCENARIOS, placeholders, post_pool[0])

    results = Results(options, load_before, postgres, django.get_version(), paths, scale_counts, {})
    counts(SMALL)
    bench = Bench(settings, paths, url)
    partner = get_user_model().objects.get(username=PARTNER)
    connections.close_all()  # this process stays idle while gunicorn serves

    def measure(dataset: str, *, with_open_loop: bool) -> None:
        log(f"{dataset}: starting gunicorn ({server.WORKERS} sync workers)")
        with server.gunicorn(env, workdir / "gunicorn.log") as port:
            bench.ports["app"] = port
            if with_open_loop:
                for level in settings.concurrency:
                    results.open_small[level] = bench.open_loop(level, _versions(post_pool))
            summaries, writes = {}, {}
            for level in settings.concurrency:
                summaries[level], writes[level] = bench.closed_loop(level, _versions(post_pool))
            results.closed[dataset] = Measured(summaries, writes)

    log("starting the floor's gunicorn (no middleware)")
    floor = server.gunicorn(
        env,
        workdir / "floor.log",
        settings_module="bench.floor_settings",
        wsgi_app="bench.floor_wsgi:application",
        health_path=FLOOR_PATH,
    )
    with floor as floor_port:
        bench.ports["floor"] = floor_port
        measured_since = timezone.now()
        measure(SMALL, with_open_loop=True)
        data.forget_posts(post_pool, measured_since, before_posts)
        results.reminders[SMALL] = data.count_reminder_queries()
        if options.scale > 0:
            size = large.Size().scaled(options.scale)
            log(f"growing the département dataset: {size}")
            results.grown = large.grow(
                size, sheet_pk=demo.sheet_pk, departmental=[partner.organisation_id or 0]
            )
            data.analyze()
            # Before counts(), whose POST freshens a demo action: the same demo as above.
            results.reminders[LARGE] = data.count_reminder_queries()
            counts(LARGE)
            connections.close_all()
            measure(LARGE, with_open_loop=False)
    bench.session_writes.close()
    return _render(results)


def _versions(pool: Sequence[int]) -> dict[int, int]:
    """The current versions of the POST's actions, read just before a measure."""
    from django.db import connections

    from actions.models import Action

    versions = dict(Action.objects.filter(pk__in=pool).values_list("pk", "version"))
    connections.close_all()
    return {pk: versions[pk] for pk in pool}


def _busy_warning(load_before: float, cpus: int) -> list[str]:
    if load_before <= cpus / 2:
        return []
    return [
        f"- ⚠ The machine was busy when the bench started (load average {load_before:.2f} on "
        f"{cpus} CPUs): the p95 ratios are unreliable, rerun on a quiet machine."
    ]


def _load_average() -> float:
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")


def _count_queries() -> dict[int, dict[str, int]]:
    from bench import data

    scale = data.ScaleData()
    counts = {}
    for total in SCALES:
        log(f"growing the synthetic strategy to {total} actions, counting queries")
        scale.grow_to(total)
        counts[total] = data.count_page_queries(QUERY_PAGES, scale.placeholders())
    return counts


def _check_body(scenario: Scenario, body: str) -> None:
    """A fragment is not a page, and a page is not the login form: else the figures lie."""
    is_page = "<html" in body
    fragment = bool(scenario.headers.get("HX-Request")) or scenario.method == "POST"
    if fragment and is_page:
        raise RuntimeError(f"{scenario.name}: expected an htmx fragment, got a whole page")
    if not fragment and not is_page:
        raise RuntimeError(f"{scenario.name}: expected a whole page")
    if 'name="password"' in body:
        raise RuntimeError(f"{scenario.name}: got the login form, the session is not valid")


def verdicts(results: Results) -> list[report.Verdict]:
    """Every target of issue 9, with the figures it is judged on."""
    small = results.closed[SMALL]
    rows = report.target_verdicts(TARGETS, small.summaries, "closed loop, p95, demo")
    for dataset, measured in results.closed.items():
        per_request = {
            f"{level} client{'s' if level > 1 else ''}": max(
                measured.writes[level][s.name] / max(measured.summaries[level][s.name].count, 1)
                for s in SCENARIOS
                if s.reads
            )
            for level in measured.summaries
        }
        rows.append(
            report.Verdict(
                "session writes per read request (worst read scenario)",
                per_request,
                SESSION_WRITES_MAX,
                f"closed loop, {dataset}",
            )
        )
    counts = results.scale_counts
    rows.append(
        report.Verdict(
            f"queries at {SCALES[-1]} actions ÷ at {SCALES[0]} (worst page)",
            {
                "in-process": max(
                    counts[SCALES[-1]][n] / counts[SCALES[0]][n] for n in counts[SCALES[0]]
                )
            },
            1.0,
            "test client, synthetic strategy",
        )
    )
    if LARGE in results.closed:
        rows += report.growth_verdicts(
            SCENARIOS, small.summaries, results.closed[LARGE].summaries, LARGE_MAX
        )
        few, many = results.reminders[SMALL], results.reminders[LARGE]
        rows.append(
            report.Verdict(
                f"weekly reminder queries, {many.strategies} ÷ {few.strategies} strategies",
                {"in-process": many.queries / max(few.queries, 1)},
                1.0,
                "reminders_claim_due, rolled back",
            )
        )
    return rows


def _render(results: Results) -> str:
    settings = results.options.load
    rows = verdicts(results)
    missed = [row.label for row in rows if not row.passed]
    closed_note = (
        f"closed loop (back to back), {settings.closed_rounds} rounds; each round every "
        f"scenario in turn, the floor among them, order rotating, gets a burst of "
        f"{settings.burst} requests shared by the clients (≈ "
        f"{settings.closed_rounds * settings.burst} per scenario and level)"
    )
    open_note = (
        f"open loop (steady rate), {settings.rate:g} requests/s in all, shared by the clients; "
        f"{settings.rounds} rounds × {settings.seconds_per_round:g} s per scenario and level"
    )
    parts = [
        "# CLSPDR benchmark",
        "",
        report.machine(
            results.postgres, server.version(), server.cpu_count(), results.django_version
        ),
        f"- Servers: gunicorn, {server.WORKERS} sync workers, DEBUG=0, PostgreSQL; the floor on "
        "a second gunicorn with no middleware; load generator on the same machine",
        f"- Loops: {closed_note}; {open_note}",
        f"- Load average (1 min) at the start / at the end (the bench included): "
        f"{results.load_before:.2f} / {_load_average():.2f} — other processes skew the p95 first",
        *_busy_warning(results.load_before, server.cpu_count()),
        f"- Datasets: {_datasets(results)}",
        "",
        "## Targets (issue 9)",
        "",
        report.verdict_table(rows),
        "",
        "## Closed loop, demo dataset",
        "",
        report.scenario_table(
            SCENARIOS,
            results.closed[SMALL].summaries,
            "closed",
            results.queries[SMALL],
            results.closed[SMALL].writes,
        ),
    ]
    if LARGE in results.closed:
        parts += [
            "",
            "## Closed loop, département dataset",
            "",
            report.scenario_table(
                SCENARIOS,
                results.closed[LARGE].summaries,
                "closed",
                results.queries[LARGE],
                results.closed[LARGE].writes,
            ),
            "",
            "## Département ÷ demo (closed loop, same run)",
            "",
            report.growth_table(
                SCENARIOS,
                results.closed[SMALL].summaries,
                results.closed[LARGE].summaries,
                (results.queries[SMALL], results.queries[LARGE]),
            ),
        ]
    parts += [
        "",
        "## Open loop, demo dataset (steady rate: flatters, see bench/README.md)",
        "",
        report.scenario_table(SCENARIOS, results.open_small, "open", results.queries[SMALL]),
        "",
        "## Queries per page at 1, 50 and 500 actions (test client, synthetic strategy)",
        "",
        report.query_table(results.scale_counts),
        "",
        "## Weekly reminder (reminders_claim_due, test client process, rolled back)",
        "",
        *(
            f"- {dataset}: strategies {count.strategies}, queries {count.queries}, "
            f"organisations to remind {count.organisations}"
            for dataset, count in results.reminders.items()
        ),
        "",
        "## Requests",
        "",
        report.paths_table(SCENARIOS, results.paths),
        "",
        f"Targets missed: {', '.join(missed)}." if missed else "Every target is met.",
    ]
    return "\n".join(parts)


def _datasets(results: Results) -> str:
    demo = "demo = Manosque's strategy as seed_demo loads it"
    grown = results.grown
    if grown is None:
        return demo + "; département dataset skipped (--scale 0)"
    return (
        f"{demo}; département = the same database plus {grown.strategies} strategies, "
        f"{grown.actions} actions, {grown.organisations} organisations, {grown.partners} "
        f"partners, {grown.updates} status updates from {grown.first:%Y-%m-%d} to "
        f"{grown.last:%Y-%m-%d} (scale {results.options.scale:g})"
    )


if __name__ == "__main__":
    sys.exit(main())
