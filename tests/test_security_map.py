"""docs/security.md promises nothing the repository does not hold: every file it names exists,
every `file.py::name` it cites is defined in that file (a test function, a class, a function),
every requirement and scenario ID is listed once, and the closing counts add up."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MAP = (ROOT / "docs" / "security.md").read_text(encoding="utf-8")
EXTENSIONS = "py|md|html|txt|toml|yml|yaml|conf|service|example|js|css"
PATH = re.compile(rf"^[a-z_][\w.-]*/[\w./-]+\.(?:{EXTENSIONS})$|^[\w-]+\.(?:{EXTENSIONS})$")
ITEM = re.compile(r"^- \*\*((?:LEG|T)-\d\d)\*\* \((answered|partly|not yet)\)", re.M)
ALL_IDS = [f"LEG-{n:02}" for n in range(1, 22)] + [f"T-{n:02}" for n in range(1, 52)]


def _spans(text: str) -> list[str]:
    return re.findall(r"`([^`\s]+)`", text)


def _cited_symbols(text: str) -> list[tuple[str, str]]:
    return [tuple(span.split("::", 1)) for span in _spans(text) if "::" in span]  # type: ignore[misc]


def _cited_paths(text: str) -> set[str]:
    paths = {span.split("::", 1)[0] for span in _spans(text)}
    return {path for path in paths if PATH.match(path)}


def _defines(path: str, name: str) -> bool:
    source = (ROOT / path).read_text(encoding="utf-8")
    return (
        re.search(rf"^\s*(?:async\s+def|def|class)\s+{re.escape(name)}\b", source, re.M) is not None
    )


def _missing_paths(text: str) -> list[str]:
    return sorted(path for path in _cited_paths(text) if not (ROOT / path).is_file())


def _missing_symbols(text: str) -> list[str]:
    return [
        f"{path}::{name}"
        for path, name in _cited_symbols(text)
        if not (ROOT / path).is_file() or not _defines(path, name)
    ]


def test_it_names_only_files_of_the_repository():
    paths = _cited_paths(MAP)
    assert "clspdr/middleware.py" in paths and "tests/test_security_scenarios.py" in paths
    missing = _missing_paths(MAP)
    assert not missing, f"docs/security.md names files that do not exist: {missing}"


def test_it_cites_only_tests_and_code_that_exist():
    assert len(_cited_symbols(MAP)) > 50
    missing = _missing_symbols(MAP)
    assert not missing, f"docs/security.md cites what is not defined: {missing}"


def test_it_cites_tests_by_their_function_name():
    for path, name in _cited_symbols(MAP):
        if path.startswith("tests/"):
            assert name.startswith("test_"), f"{path}::{name}"


def test_it_sees_a_citation_that_does_not_exist():
    """The checks are not vacuous: made-up citations, in the shapes the map uses, are caught."""
    text = (
        "`clspdr/nowhere.py`, `docs/nowhere.md`, `tests/clspdr/test_security.py::test_it_flies`, "
        "`clspdr/middleware.py::NoSuchMiddleware`, `tests/nowhere.py::test_it_exists`"
    )
    assert _missing_paths(text) == ["clspdr/nowhere.py", "docs/nowhere.md", "tests/nowhere.py"]
    assert _missing_symbols(text) == [
        "tests/clspdr/test_security.py::test_it_flies",
        "clspdr/middleware.py::NoSuchMiddleware",
        "tests/nowhere.py::test_it_exists",
    ]


def test_it_lists_every_requirement_and_scenario_once():
    listed = Counter(identifier for identifier, _ in ITEM.findall(MAP))
    assert sorted(listed) == sorted(ALL_IDS)
    assert [identifier for identifier, count in listed.items() if count > 1] == []


def test_it_names_the_code_and_a_test_for_every_line_it_calls_answered():
    items = re.split(r"^(?=- \*\*(?:LEG|T)-\d\d\*\* )", MAP, flags=re.M)
    for item in items:
        match = ITEM.match(item)
        if match and match.group(2) != "not yet":
            tests = [s for s in re.findall(r"`(tests/[^`\s]+::test_\w+)`", item)]
            assert tests, f"{match.group(1)} is {match.group(2)} without a test"
        if match and match.group(2) == "not yet":
            assert re.search(r"issue \d+|no issue", item, re.I), f"{match.group(1)}: which issue?"


def test_it_gives_the_counts_of_its_lines():
    statuses = ITEM.findall(MAP)
    total = Counter(status for _, status in statuses)
    legal = Counter(status for identifier, status in statuses if identifier.startswith("LEG"))
    scenarios = Counter(status for identifier, status in statuses if identifier.startswith("T-"))
    note = " ".join(MAP.split("### Counts", 1)[1].split())
    expected = (
        f"Of the {len(statuses)} lines, {total['answered']} are answered, {total['partly']} "
        f"partly answered and {total['not yet']} not yet answered (LEG: {legal['answered']} "
        f"answered, {legal['partly']} partly, {legal['not yet']} not yet; T: "
        f"{scenarios['answered']} answered, {scenarios['partly']} partly, "
        f"{scenarios['not yet']} not yet)."
    )
    assert expected in note
