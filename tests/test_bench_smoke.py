"""`make bench` stays runnable: its statistics, its report and its data builders, on tiny input.

No timing here, and no target asserted met or missed on real figures: those come from
`make bench` (bench/README.md). The département generator needs PostgreSQL (COPY): it runs in
`make bench` itself, at `--scale` of one's choice.
"""

from __future__ import annotations

import pytest

from actions.models import StatusUpdate
from bench import data, large, load, report
from bench.scenarios import (
    FLOOR,
    QUERY_PAGES,
    SCENARIOS,
    TARGETS,
    TRIVIAL,
    UPDATES_PER_ACTION,
    LoadSettings,
    Scenario,
    Target,
)


def test_it_interpolates_percentiles_between_ranks():
    values = [4.0, 1.0, 3.0, 2.0]
    assert load.percentile(values, 0) == 1.0
    assert load.percentile(values, 50) == 2.5
    assert load.percentile(values, 100) == 4.0
    assert load.percentile([float(n) for n in range(1, 101)], 95) == pytest.approx(95.05)


def test_it_refuses_a_percentile_of_nothing():
    with pytest.raises(ValueError):
        load.percentile([], 50)


def test_it_schedules_requests_at_fixed_intervals_from_a_seeded_phase():
    assert load.schedule(10.0, 0.5, 0.25, 4) == [10.5, 10.75, 11.0, 11.25]
    phases = load.phases(8, 0.4, seed=1)
    assert phases == load.phases(8, 0.4, seed=1)
    assert phases[0] == 0.0
    assert all(0 <= phase <= 0.4 for phase in phases)


def test_it_summarises_samples_with_their_errors_late_requests_and_sizes():
    samples = load.Samples([0.01, 0.02, 0.03], errors=1, sizes=[10, 20, 30])
    samples.extend(load.Samples([0.04], late=1, sizes=[40]))
    summary = load.summarise(samples)
    assert (summary.count, summary.errors, summary.late) == (4, 1, 1)
    assert summary.p50 == pytest.approx(0.025)
    assert summary.size == 25


def test_it_scales_the_departement_but_keeps_its_shape():
    size = large.Size().scaled(0.1)
    assert (size.strategies, size.organisations, size.partners) == (10, 30, 200)
    assert size.updates == 40_000 and size.actions_per_strategy == 40
    assert large.Size().actions == 4000


def test_it_spreads_the_updates_over_the_actions_exactly():
    import random

    counts = large._split(random.Random(1), 1000, 7)
    assert sum(counts) == 1000 and len(counts) == 7 and min(counts) > 0


def _summary(p50: float, p95: float) -> load.Summary:
    return load.Summary(count=10, p50=p50, p95=p95, errors=0, late=0, size=100)


def _levels(**p95s: tuple[float, float]) -> dict[int, dict[str, load.Summary]]:
    """Scenario name -> (p95 at 1 client, p95 at 8): a level table with p50 = p95 / 2."""
    return {
        level: {name: _summary(pair[i] / 2, pair[i]) for name, pair in p95s.items()}
        for i, level in enumerate((1, 8))
    }


def test_it_judges_each_target_on_the_p95_of_every_level():
    levels = _levels(floor=(0.01, 0.01), trivial=(0.02, 0.04), list=(0.05, 0.2))
    targets = (
        Target("trivial ÷ floor", "trivial", "floor", 3.0),
        Target("list ÷ trivial", "list", "trivial", 3.0),
    )
    rows = report.target_verdicts(targets, levels, "closed loop, p95, demo")
    assert [(row.label, row.passed) for row in rows] == [
        ("trivial ÷ floor", False),
        ("list ÷ trivial", False),
    ]
    assert rows[1].values == {"1 client": 2.5, "8 clients": 5.0}
    table = report.verdict_table(rows)
    assert "| list ÷ trivial | 2.50 | 5.00 | ≤ 3 | closed loop, p95, demo | ❌ |" in table


def test_it_prints_every_scenario_with_its_loop_ratios_queries_bytes_and_writes():
    scenarios = (
        Scenario(FLOOR, "/f/", persona="", server="floor"),
        Scenario(TRIVIAL, "/t/"),
        Scenario("page", "/p/"),
    )
    levels = _levels(floor=(0.01, 0.01), trivial=(0.02, 0.02), page=(0.04, 0.08))
    writes = {1: {"trivial": 10, "page": 0}, 8: {"trivial": 10, "page": 5}}
    table = report.scenario_table(scenarios, levels, "closed", {"page": 12}, writes)
    assert "| page | 1 | closed | 20.0 | 40.0 | 2.00× / 2.00× | 4.00× / 4.00× | 12 | 100 |" in table
    assert (
        "| page | 8 | closed | 40.0 | 80.0 | 4.00× / 4.00× | 8.00× / 8.00× | 12 | 100 | 0.50 |"
        in (table)
    )
    assert "| floor | 1 | closed |" in table and "| — |" in table  # no session on the floor


def test_it_divides_the_large_dataset_by_the_small_one():
    scenarios = (Scenario(FLOOR, "/f/", server="floor"), Scenario("page", "/p/"))
    small = _levels(floor=(0.01, 0.01), page=(0.02, 0.04))
    large = _levels(floor=(0.01, 0.01), page=(0.022, 0.1))
    rows = report.growth_verdicts(scenarios, small, large, 1.2)
    assert [row.label for row in rows] == ["page: département ÷ demo"]  # not the floor
    assert rows[0].values == {"1 client": pytest.approx(1.1), "8 clients": pytest.approx(2.5)}
    assert not rows[0].passed
    table = report.growth_table(scenarios, small, large, ({"page": 9}, {"page": 9}))
    assert "| page | 1.10× | 1.10× | 2.50× | 2.50× | 9 → 9 | 100 → 100 |" in table


def test_it_measures_both_loops_with_a_server_and_a_floor():
    names = [scenario.name for scenario in SCENARIOS]
    assert FLOOR in names and TRIVIAL in names
    assert {s.server for s in SCENARIOS} == {"app", "floor"}
    assert any(s.method == "POST" for s in SCENARIOS)
    assert LoadSettings().concurrency == (1, 8)


def test_it_flags_queries_that_grow_with_the_rows():
    table = report.query_table({1: {"list": 9, "sheet": 12}, 50: {"list": 9, "sheet": 13}})
    assert "| list | 9 | 9 | constant | ✅ |" in table
    assert "| sheet | 12 | 13 | constant | ❌ |" in table


def test_every_target_names_a_scenario():
    names = {scenario.name for scenario in SCENARIOS}
    assert len(names) == len(SCENARIOS)
    assert {t.scenario for t in TARGETS} | {t.baseline for t in TARGETS} <= names


def test_it_never_drops_a_database_not_named_for_the_bench():
    with pytest.raises(SystemExit):
        data.recreate_database("postgres://postgres@127.0.0.1:5432/clspdr")


@pytest.fixture
def bench_urls(settings):
    from bench import settings as bench_settings

    settings.ROOT_URLCONF = "bench.urls"
    settings.TEMPLATES = bench_settings.TEMPLATES


def test_it_grows_the_synthetic_strategy_and_counts_every_page(personas, bench_urls):
    scale = data.ScaleData()
    scale.grow_to(1)
    scale.grow_to(3)
    assert scale.count == 3
    history = StatusUpdate.objects.filter(action__axis=scale.axis)
    assert history.count() == 3 * UPDATES_PER_ACTION
    assert not history.filter(created_at__gt=data.PERIOD_END).exists()
    counts = data.count_page_queries(QUERY_PAGES, scale.placeholders())
    assert set(counts) == {page.name for page in QUERY_PAGES}
    assert all(count > 0 for count in counts.values())


def test_it_serves_the_trivial_view_through_the_whole_stack(client, personas, bench_urls):
    client.force_login(personas["coordination"])
    response = client.get("/bench/trivial/")
    assert response.status_code == 200
    assert "Page témoin" in response.content.decode()
    client.logout()
    assert client.get("/bench/trivial/").status_code == 302


def test_it_picks_a_sheet_and_a_search_from_the_demo(world):
    targets = data.demo_targets()
    assert targets.sheet_pk in {action.pk for action in world.actions.values()}
    assert targets.search


def test_it_opens_one_session_per_client(personas):
    keys = data.session_keys("police", 3)
    assert len(set(keys)) == 3


def test_it_serves_the_floor_with_no_middleware(client, settings):
    settings.ROOT_URLCONF = "bench.floor_urls"
    settings.MIDDLEWARE = []
    response = client.get("/bench/floor/")
    assert response.status_code == 200
    assert not response.cookies


def test_it_counts_each_request_and_the_weekly_reminder(world, personas, bench_urls):
    targets = data.demo_targets()
    placeholders = {"sheet_pk": targets.sheet_pk, "search": targets.search}
    pool = list(data.post_versions(3, targets.sheet_pk))
    assert targets.sheet_pk not in pool
    counts = data.count_request_queries(SCENARIOS, placeholders, pool[0])
    assert set(counts) == {s.name for s in SCENARIOS if s.server == "app"}
    assert all(count > 0 for count in counts.values())
    reminder = data.count_reminder_queries()
    assert reminder.queries > 0 and reminder.strategies >= 1


def test_it_forgets_the_status_updates_of_the_post_and_puts_the_actions_back(world, personas):
    from django.utils import timezone

    from actions.models import Action

    targets = data.demo_targets()
    pool = list(data.post_versions(2, targets.sheet_pk))
    state = data.post_state(pool)
    since = timezone.now()
    action = Action.objects.get(pk=pool[0])
    StatusUpdate.objects.create(
        action=action, author=personas["coordination"], created_at=timezone.now(),
        previous_status=action.status, previous_progress=action.progress,
        status="in_progress", progress=55,
    )  # fmt: skip
    Action.objects.filter(pk=action.pk).update(progress=55, last_update_at=timezone.now())
    assert data.forget_posts(pool, since, state) == 1
    assert data.post_state(pool) == state
