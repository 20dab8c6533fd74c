"""`make bench` (`python -m bench.run`): one run, one server, one Markdown report on stdout.

Steps: recreate the PostgreSQL database `clspdr_bench`, migrate, collectstatic, load the
strategy and the demo; count the queries of each page at 1, 50 and 500 synthetic actions
(in-process test Client); then start gunicorn (2 sync workers, DEBUG=0) and measure every
scenario at a fixed request rate under 1 and 8 concurrent clients. Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import FrameType

from bench import load, report, server
from bench.scenarios import QUERY_PAGES, SCALES, SCENARIOS, LoadSettings, Scenario

ROOT = Path(__file__).resolve().parent.parent
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


def parse_args(argv: Sequence[str] | None) -> LoadSettings:
    defaults = LoadSettings()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=float, default=defaults.rate, help="requests/s in all")
    parser.add_argument("--seconds", type=float, default=defaults.seconds_per_round)
    parser.add_argument("--rounds", type=int, default=defaults.rounds)
    args = parser.parse_args(argv)
    if not (0 < args.rate <= 200 and 0 < args.seconds <= 60 and 0 < args.rounds <= 10):
        parser.error("rate in (0, 200], seconds in (0, 60], rounds in (0, 10]")
    return LoadSettings(rate=args.rate, seconds_per_round=args.seconds, rounds=args.rounds)


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)  # unwinds through the `finally` that stops gunicorn


def main(argv: Sequence[str] | None = None) -> int:
    settings = parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    # Ctrl-C must stop gunicorn even when started from a shell that made us ignore SIGINT.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    os.chdir(ROOT)
    started = time.monotonic()
    try:
        with tempfile.TemporaryDirectory(prefix="clspdr-bench-") as tmp:
            output = run(settings, Path(tmp))
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    print(output)
    print(f"\nTotal run time: {time.monotonic() - started:.0f} s.")
    return 0


def run(settings: LoadSettings, workdir: Path) -> str:
    from bench import data

    load_before = _load_average()  # before any work of ours: the rest of the machine

    url = data.database_url()
    env = environment(url, workdir)
    os.environ.update(env)  # before Django reads its settings, in this process too
    log(f"recreating database {data.database_name(url)}")
    postgres = data.recreate_database(url)

    import django

    django.setup()
    log("migrate, collectstatic, load_strategy, seed_demo --force")
    data.prepare()

    counts = _count_queries()
    data.analyze()
    targets = data.demo_targets()
    placeholders = {"sheet_pk": targets.sheet_pk, "search": targets.search}
    paths = {s.name: s.path.format(**placeholders) for s in SCENARIOS}
    personas = sorted({s.persona for s in SCENARIOS})
    sessions = {p: data.session_keys(p, max(settings.concurrency)) for p in personas}

    from django.conf import settings as django_settings
    from django.db import connections

    connections.close_all()  # this process stays idle while gunicorn serves
    log(f"starting gunicorn ({server.WORKERS} sync workers)")
    with server.gunicorn(env, workdir / "gunicorn.log") as port:
        results = {
            level: _measure(
                settings, level, port, paths, sessions, django_settings.SESSION_COOKIE_NAME
            )
            for level in settings.concurrency
        }
    rows = report.ratios(SCENARIOS, results)
    return _render(
        settings, results, rows, counts, paths, postgres, django.get_version(), load_before
    )


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


def _measure(
    settings: LoadSettings,
    level: int,
    port: int,
    paths: Mapping[str, str],
    sessions: Mapping[str, Sequence[str]],
    cookie_name: str,
) -> dict[str, load.Summary]:
    clients = {
        persona: [load.Client(port, {cookie_name: key}, settings.timeout) for key in keys[:level]]
        for persona, keys in sessions.items()
    }
    for scenario in SCENARIOS:
        body = load.warm_up(
            clients[scenario.persona],
            paths[scenario.name],
            scenario.headers,
            settings.warmup_requests,
        )
        _check_body(scenario, body)
    samples = {scenario.name: load.Samples() for scenario in SCENARIOS}
    for round_index in range(settings.rounds):
        # Rotate the order each round: no scenario always runs first, or right after another.
        shift = round_index % len(SCENARIOS)
        for scenario in [*SCENARIOS[shift:], *SCENARIOS[:shift]]:
            log(f"{level} client(s), round {round_index + 1}/{settings.rounds}: {scenario.name}")
            samples[scenario.name].extend(
                load.open_loop(
                    clients[scenario.persona],
                    paths[scenario.name],
                    scenario.headers,
                    rate=settings.rate,
                    seconds=settings.seconds_per_round,
                    grace=settings.grace,
                    seed=level * 1000 + round_index,
                )
            )
    for persona_clients in clients.values():
        for client in persona_clients:
            client.close()
    return {name: load.summarise(s) for name, s in samples.items()}


def _check_body(scenario: Scenario, body: str) -> None:
    """A fragment is not a page, and a page is not the login form: else the figures lie."""
    is_page = "<html" in body
    if scenario.headers.get("HX-Request") and is_page:
        raise RuntimeError(f"{scenario.name}: expected an htmx fragment, got a whole page")
    if not scenario.headers.get("HX-Request") and not is_page:
        raise RuntimeError(f"{scenario.name}: expected a whole page")
    if 'name="password"' in body:
        raise RuntimeError(f"{scenario.name}: got the login form, the session is not valid")


def _render(
    settings: LoadSettings,
    results: Mapping[int, Mapping[str, load.Summary]],
    rows: Sequence[report.Ratio],
    counts: Mapping[int, Mapping[str, int]],
    paths: Mapping[str, str],
    postgres: str,
    django_version: str,
    load_before: float,
) -> str:
    per_scenario = round(settings.rate * settings.seconds_per_scenario)
    total = per_scenario * len(SCENARIOS) * len(settings.concurrency)
    missed = [f"{r.scenario} / {r.baseline}" for r in rows if not r.passed]
    missed += [
        f"queries of {name}"
        for name in counts[SCALES[0]]
        if len({counts[scale][name] for scale in SCALES}) > 1
    ]
    parts = [
        "# CLSPDR benchmark",
        "",
        report.machine(postgres, server.version(), server.cpu_count(), django_version),
        f"- Server: gunicorn, {server.WORKERS} sync workers, DEBUG=0, PostgreSQL, "
        "load generator on the same machine",
        f"- Load: open loop, {settings.rate:g} requests/s in all, shared by the clients; "
        f"{settings.rounds} rounds × {settings.seconds_per_round:g} s per scenario and "
        f"concurrency level (≈ {per_scenario} requests each, {total} in all, after "
        f"{settings.warmup_requests} warm-up requests per scenario)",
        f"- Load average (1 min) at the start / at the end (the bench included): "
        f"{load_before:.2f} / {_load_average():.2f} — other processes skew the p95 first",
        *_busy_warning(load_before, server.cpu_count()),
        "",
        "## Latency ratios (same run, same server)",
        "",
        report.ratio_table(rows, settings.concurrency),
        "",
        "## Queries per page (synthetic strategy, 5 updates per action)",
        "",
        report.query_table(counts),
        "",
        "## Absolute latencies",
        "",
        report.latency_table(SCENARIOS, results, paths),
        "",
        f"Targets missed: {', '.join(missed)}." if missed else "Every target is met.",
    ]
    return "\n".join(parts)


if __name__ == "__main__":
    sys.exit(main())
