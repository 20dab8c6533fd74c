"""`make bench` stays runnable: its statistics, its report and its data builder, on tiny input.

No timing here: the figures themselves come from `make bench` (bench/README.md).
"""

from __future__ import annotations

import pytest

from actions.models import StatusUpdate
from bench import data, load, report
from bench.scenarios import (
    QUERY_PAGES,
    SCENARIOS,
    TRIVIAL,
    UPDATES_PER_ACTION,
    Baseline,
    Scenario,
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


def test_it_summarises_samples_with_their_errors_and_late_requests():
    samples = load.Samples([0.01, 0.02, 0.03], errors=1)
    samples.extend(load.Samples([0.04], late=1))
    summary = load.summarise(samples)
    assert (summary.count, summary.errors, summary.late) == (4, 1, 1)
    assert summary.p50 == pytest.approx(0.025)


def _summary(p50: float, p95: float) -> load.Summary:
    return load.Summary(count=10, p50=p50, p95=p95, errors=0, late=0)


def test_it_reports_a_missed_target_beside_a_met_one():
    scenarios = (
        Scenario(TRIVIAL, "/t/", baselines=()),
        Scenario("fast", "/f/"),
        Scenario("slow", "/s/", baselines=(Baseline(TRIVIAL, 3.0, "page"),)),
    )
    results = {
        1: {
            TRIVIAL: _summary(0.01, 0.02),
            "fast": _summary(0.02, 0.04),
            "slow": _summary(0.05, 0.1),
        },
        8: {
            TRIVIAL: _summary(0.01, 0.02),
            "fast": _summary(0.02, 0.05),
            "slow": _summary(0.05, 0.05),
        },
    }
    rows = report.ratios(scenarios, results)
    assert [(row.scenario, row.passed) for row in rows] == [("fast", True), ("slow", False)]
    table = report.ratio_table(rows, [1, 8])
    assert "| fast / trivial | 2.00× | 2.00× | 2.00× | 2.50× | p95 ≤ 3× | ✅ |" in table
    assert "| slow / trivial | 5.00× | 5.00× | 5.00× | 2.50× | p95 ≤ 3× | ❌ |" in table


def test_it_flags_queries_that_grow_with_the_rows():
    table = report.query_table({1: {"list": 9, "sheet": 12}, 50: {"list": 9, "sheet": 13}})
    assert "| list | 9 | 9 | constant | ✅ |" in table
    assert "| sheet | 12 | 13 | constant | ❌ |" in table


def test_every_baseline_names_a_scenario():
    names = {scenario.name for scenario in SCENARIOS}
    assert len(names) == len(SCENARIOS)
    assert {b.scenario for s in SCENARIOS for b in s.baselines} <= names


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
