"""The Markdown that `make bench` prints: the machine, then ratios, then absolute figures."""

from __future__ import annotations

import platform
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.load import Summary
from bench.scenarios import Scenario

PASS, FAIL = "✅", "❌"


@dataclass(frozen=True)
class Ratio:
    """p50 and p95 of a scenario divided by its baseline's, per concurrency level."""

    scenario: str
    baseline: str
    label: str
    max_ratio: float
    by_level: dict[int, tuple[float, float]]  # clients -> (p50 ratio, p95 ratio)

    @property
    def passed(self) -> bool:
        return all(p95 <= self.max_ratio for _, p95 in self.by_level.values())


def ratios(
    scenarios: Sequence[Scenario], results: Mapping[int, Mapping[str, Summary]]
) -> list[Ratio]:
    rows = []
    for scenario in scenarios:
        for baseline in scenario.baselines:
            by_level = {}
            for level, summaries in results.items():
                mine, theirs = summaries[scenario.name], summaries[baseline.scenario]
                by_level[level] = (mine.p50 / theirs.p50, mine.p95 / theirs.p95)
            rows.append(
                Ratio(
                    scenario.name,
                    baseline.scenario,
                    baseline.label,
                    baseline.max_ratio,
                    by_level,
                )
            )
    return rows


def _ratio(value: float) -> str:
    return f"{value:.2f}×"


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


def ratio_table(rows: Sequence[Ratio], levels: Sequence[int]) -> str:
    header = ["Comparison"]
    for level in levels:
        header += [f"p50 ({_clients(level)})", f"p95 ({_clients(level)})"]
    header += ["Target", ""]
    lines = [_row(header), _row(["---"] * len(header))]
    for row in rows:
        cells = [f"{row.scenario} / {row.baseline}"]
        for level in levels:
            p50, p95 = row.by_level[level]
            cells += [_ratio(p50), _ratio(p95)]
        cells += [f"p95 ≤ {row.max_ratio:g}×", PASS if row.passed else FAIL]
        lines.append(_row(cells))
    return "\n".join(lines)


def latency_table(
    scenarios: Sequence[Scenario],
    results: Mapping[int, Mapping[str, Summary]],
    paths: Mapping[str, str],
) -> str:
    levels = list(results)
    header = ["Scenario", "Persona", "Path"]
    for level in levels:
        header += [f"p50 ms ({_clients(level)})", f"p95 ms ({_clients(level)})"]
    header += ["Requests", "Errors", "Late"]
    lines = [_row(header), _row(["---"] * len(header))]
    for scenario in scenarios:
        summaries = [results[level][scenario.name] for level in levels]
        cells = [scenario.name, scenario.persona, f"`{_headers(scenario)}{paths[scenario.name]}`"]
        for summary in summaries:
            cells += [_ms(summary.p50), _ms(summary.p95)]
        cells += [
            " / ".join(str(s.count) for s in summaries),
            " / ".join(str(s.errors) for s in summaries),
            " / ".join(str(s.late) for s in summaries),
        ]
        lines.append(_row(cells))
    return "\n".join(lines)


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
