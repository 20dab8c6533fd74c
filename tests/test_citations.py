"""Code, comments and docs cite only files of the repository.

The design notes the project started from (product, security, style, ecosystem and
architecture briefs, kept outside the repository) are not there for a future maintainer: the
repository's own versions are docs/security.md (requirement and scenario IDs) and
docs/architecture.md (layers and where rules live).
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BRIEFS = r"(?:PRODUCT|SECURITY|STYLE|ECOSYSTEM|ARCHITECTURE)"
OUTSIDE = re.compile(
    rf"\b{BRIEFS}\.md\b"  # SECURITY.md, ECOSYSTEM.md §3.2
    rf"|\b{BRIEFS} ?(?:#|§|T-\d|LEG-\d)"  # STYLE #10, SECURITY T-10
    r"|\.\./shared\b|/work/shared\b"  # ../shared/design/, /work/shared/seed/
)
EXEMPT = {"tests/test_citations.py"}  # names the forms it looks for


def _tracked_text_files() -> list[str]:
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    return [path for path in listed.split("\0") if path and path not in EXEMPT]


def _citations(text: str) -> list[str]:
    return [match.group(0) for match in OUTSIDE.finditer(text)]


def test_it_cites_no_file_outside_the_repository():
    files = _tracked_text_files()
    assert "clspdr/permissions.py" in files and "docs/security.md" in files
    found = []
    for path in files:
        try:
            text = (ROOT / path).read_text(encoding="utf-8")
        except (UnicodeDecodeError, FileNotFoundError):
            continue  # binary files (compiled translations, images); files deleted meanwhile
        for number, line in enumerate(text.splitlines(), 1):
            if _citations(line):
                found.append(f"{path}:{number}: {line.strip()}")
    assert not found, "cite docs/security.md or docs/architecture.md instead:\n" + "\n".join(found)


@pytest.mark.parametrize(
    "line",
    [
        "Action.objects.visible_to(user) (STYLE #2).",
        '"""Session hardening (SECURITY.md T-12, T-31).',
        "the click would do nothing (ECOSYSTEM.md §3.2).",
        "as every persona (STYLE #10, PRODUCT.md §2).",
        '"""SECURITY T-10: no name of a person in the e-mail."""',
        "# A copy of /work/shared/seed/, the document the data file was transcribed from.",
        "`../shared/design/ARCHITECTURE.md` sets the layers.",
        "see STYLE.md",
    ],
)
def test_it_sees_the_forms_such_citations_took(line):
    assert _citations(line)


@pytest.mark.parametrize(
    "line",
    [
        "Session hardening (docs/security.md, T-12 and T-31).",
        "The layers are in docs/architecture.md.",
        "SECURE_REFERRER_POLICY = 'same-origin'",
        "<style>#status-panel {}</style>",
    ],
)
def test_it_lets_the_repositorys_own_docs_be_cited(line):
    assert not _citations(line)
