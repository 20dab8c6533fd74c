"""The Markdown that `make bench` prints: the machine, the targets, then every figure with
the loop and the dataset it comes from."""

from __future__ import annotations

import platform
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.load import Summary
from bench.scenarios import FLOOR, TRIVIAL, Scenario, Target

PASS, FAIL = "✅", "❌"


Levels = Mapping[int, Mapping[str, Summary]]  # clients -> scenario name -> summary


@dataclass(frozen=True)
class Verdict:
    """One line of the targets table: the measure per level, the limit, met or not."""

    label: str
    values: dict[str, float]  # column (e.g. "1 client") -> measured value
    limit: float
    source: str  # where the figure comes from: loop, dataset, statistic

    @property
    def passed(self) -> bool:
        return all(value <= self.limit for value in self.values.values())


def ratio(levels: Levels, level: int, name: str, baseline: str) -> tuple[float, float]:
    """(p50, p95) of `name` ÷ those of `baseline`, at one level."""
    mine, theirs = levels[level][name], levels[level][baseline]
    return mine.p50 / theirs.p50, mine.p95 / theirs.p95


def target_verdicts(targets: Sequence[Target], levels: Levels, source: str) -> list[Verdict]:
    return [
        Verdict(
            target.label,
            {
                _clients(level): ratio(levels, level, target.scenario, target.baseline)[1]
                for level in levels
            },
            target.max_ratio,
            source,
        )
        for target in targets
    ]


def growth_verdicts(
    scenarios: Sequence[Scenario], small: Levels, large: Levels, limit: float
) -> list[Verdict]:
    """Each application scenario's p95 on the large dataset ÷ on the small, per level."""
    return [
        Verdict(
            f"{scenario.name}: département ÷ demo",
            {
                _clients(level): large[level][scenario.name].p95 / small[level][scenario.name].p95
                for level in small
            },
            limit,
            "closed loop, p95",
        )
        for scenario in scenarios
        if scenario.server == "app"
    ]


def verdict_table(verdicts: Sequence[Verdict]) -> str:
    columns = list(dict.fromkeys(column for v in verdicts for column in v.values))
    header = ["Target", *columns, "Limit", "From", ""]
    lines = [_row(header), _row(["---"] * len(header))]
    for verdict in verdicts:
        cells = [verdict.label]
        cells += [_value(verdict.values[c]) if c in verdict.values else "—" for c in columns]
        cells += [f"≤ {verdict.limit:g}", verdict.source, PASS if verdict.passed else FAIL]
        lines.append(_row(cells))
    return "\n".join(lines)


def _value(value: float) -> str:
    return f"{value:.2f}"


def scenario_table(
    scenarios: Sequence[Scenario],
    levels: Levels,
    loop: str,
    queries: Mapping[str, int],
    writes: Mapping[int, Mapping[str, int]] | None = None,
) -> str:
    """Every scenario at every level: latencies, ratios to the trivial view and the floor,
    queries (one request, in-process), bytes, session writes per request."""
    header = ["Scenario", "Clients", "Loop", "p50 ms", "p95 ms", "÷ trivial p50 / p95"]
    header += ["÷ floor p50 / p95", "Queries", "Bytes", "Session writes / request"]
    header += ["Requests", "Errors", "Late"]
    lines = [_row(header), _row(["---"] * len(header))]
    for scenario in scenarios:
        for level, summaries in levels.items():
            summary = summaries[scenario.name]
            written = "—"
            if writes is not None and scenario.reads:
                written = _value(writes[level][scenario.name] / max(summary.count, 1))
            cells = [scenario.name, str(level), loop, _ms(summary.p50), _ms(summary.p95)]
            cells += [
                _pair(ratio(levels, level, scenario.name, TRIVIAL)),
                _pair(ratio(levels, level, scenario.name, FLOOR)),
                str(queries.get(scenario.name, 0)),
                str(summary.size),
                written,
                str(summary.count),
                str(summary.errors),
                str(summary.late),
            ]
            lines.append(_row(cells))
    return "\n".join(lines)


def growth_table(
    scenarios: Sequence[Scenario],
    small: Levels,
    large: Levels,
    queries: tuple[Mapping[str, int], Mapping[str, int]],
) -> str:
    """Large ÷ small per scenario and level, with the queries and bytes of both."""
    levels = list(small)
    header = ["Scenario"]
    for level in levels:
        header += [f"p50 ({_clients(level)})", f"p95 ({_clients(level)})"]
    header += ["Queries demo → département", "Bytes demo → département"]
    lines = [_row(header), _row(["---"] * len(header))]
    for scenario in scenarios:
        if scenario.server != "app":
            continue
        cells = [scenario.name]
        for level in levels:
            mine, theirs = large[level][scenario.name], small[level][scenario.name]
            cells += [_ratio(mine.p50 / theirs.p50), _ratio(mine.p95 / theirs.p95)]
        cells += [
            f"{queries[0].get(scenario.name, 0)} → {queries[1].get(scenario.name, 0)}",
            f"{small[levels[0]][scenario.name].size} → {large[levels[0]][scenario.name].size}",
        ]
        lines.append(_row(cells))
    return "\n".join(lines)


def paths_table(scenarios: Sequence[Scenario], paths: Mapping[str, str]) -> str:
    lines = [_row(["Scenario", "Persona", "Request"]), _row(["---"] * 3)]
    for scenario in scenarios:
        request = f"{scenario.method} {_headers(scenario)}{paths[scenario.name]}"
        lines.append(_row([scenario.name, scenario.persona or "—", f"`{request}`"]))
    return "\n".join(lines)


def _pair(pair: tuple[float, float]) -> str:
    return f"{_ratio(pair[0])} / {_ratio(pair[1])}"


def _ratio(value: float) -> str:
    return f"{value:.2f}×"


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


def query_table(counts: Mapping[int, Mapping[str, int]]) -> str:
    """Queries per page at each scale; the target is the same count at every scale."""
    scales = list(counts)
    names = list(counts[scales[0]])
    header = ["Page", *[f"{scale} action{'s' if scale > 1 else ''}" for scale in scales]]
    header += ["Target", ""]
    lines = [_row(header), _row(["---"] * len(header))]
    for name in names:
        values = [counts[scale][name] for scale in scales]
        verdict = PASS if len(set(values)) == 1 else FAIL
        lines.append(_row([name, *map(str, values), "constant", verdict]))
    return "\n".join(lines)


def _headers(scenario: Scenario) -> str:
    return "".join(f"{name}: {value} " for name, value in scenario.headers.items())


def _clients(level: int) -> str:
    return f"{level} client{'s' if level > 1 else ''}"


def _row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"


def machine(postgres: str, gunicorn: str, cpus: int, django: str) -> str:
    lines = [
        f"- CPUs: {cpus} ({_cpu_model()})",
        f"- Memory: {_memory()}",
        f"- Python {platform.python_version()}, Django {django}, gunicorn {gunicorn}, "
        f"PostgreSQL {postgres}",
        f"- System: {platform.platform()}",
    ]
    return "\n".join(lines)


def _cpu_model() -> str:
    return _proc_field(Path("/proc/cpuinfo"), "model name") or platform.processor() or "unknown"


def _memory() -> str:
    total = _proc_field(Path("/proc/meminfo"), "MemTotal")
    if not total:
        return "unknown"
    kib = int(total.split()[0])
    return f"{kib / 1024 / 1024:.1f} GiB"


def _proc_field(path: Path, name: str) -> str:
    try:
        for line in path.read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == name:
                return value.strip()
    except OSError:
        pass
    return ""
