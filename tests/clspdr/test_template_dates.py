"""No template writes a date without the French filter.

`frdate` (clspdr/templatetags/clspdr.py) writes "1er juillet 2026"; Django's `date` filter
writes "1 juillet 2026". The rule every template follows, pages and e-mails alike:

- a date shown to a person goes through `frdate`, a `<time datetime>` attribute through
  `isodate`, an age in days through `age`;
- Django's own date writers (`date`, `time`, `naturalday`, `naturaltime`, `timesince`,
  `timeuntil`, `{% now %}`) are not used at all;
- a variable named like a date (`created_at`, `start_date`, `event.at`, `today`...) is never
  printed without one of the three filters.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SKIPPED = {".venv", "node_modules", ".git", "var"}

FORBIDDEN = re.compile(
    r"\|\s*(?:date|time|naturalday|naturaltime|timesince|timeuntil)\b"
    r"|\{%\s*now\b"
    r"|\{%\s*load\s[^%]*\bhumanize\b"
)
VARIABLE = re.compile(r"\{\{(.*?)\}\}", re.S)
DATE_NAME = re.compile(r"(?:^|[._])(?:at|date|day|today|now)$|_since_update$")
FRENCH = re.compile(r"\|\s*(?:frdate|isodate|age)\b")


def templates() -> list[Path]:
    """Every template of the project: templates/ and any app's templates/ folder."""
    found = []
    for folder in ROOT.rglob("templates"):
        if folder.is_dir() and not SKIPPED.intersection(folder.relative_to(ROOT).parts):
            found += [p for p in folder.rglob("*") if p.suffix in {".html", ".txt"}]
    return sorted(found)


def problems(source: str) -> list[str]:
    found = [match.group(0) for match in FORBIDDEN.finditer(source)]
    for match in VARIABLE.finditer(source):
        expression = match.group(1).strip()
        name = expression.split("|")[0].strip()
        if DATE_NAME.search(name) and not FRENCH.search(expression):
            found.append(match.group(0))
    return found


def test_it_scans_the_pages_and_the_e_mails():
    names = {str(path.relative_to(ROOT)) for path in templates()}
    assert "templates/base.html" in names
    assert "templates/actions/email/stale_reminder.txt" in names
    assert "templates/actions/email/stale_reminder.html" in names
    assert "templates/account/email/password_reset_key_message.txt" in names
    assert "bench/templates/bench/trivial.html" in names


@pytest.mark.parametrize("path", templates(), ids=lambda p: str(p.relative_to(ROOT)))
def test_it_writes_every_date_through_the_french_filter(path):
    assert problems(path.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize(
    "source",
    [
        '{{ action.start_date|date:"j F Y" }}',
        "{{ update.created_at|date:'c' }}",
        "{{ entry.created_at }}",
        "{{ event.at }}",
        "{{ start_date|default:'—' }}",
        "{{ action.days_since_update }} jours",
        "{% now 'Y' %}",
        "{% load humanize %}{{ when|naturaltime }}",
        "{{ action.last_update_at|timesince }}",
    ],
)
def test_it_flags_a_date_written_another_way(source):
    assert problems(source) != []


@pytest.mark.parametrize(
    "source",
    [
        "{{ action.start_date|frdate }}",
        '<time datetime="{{ event.at|isodate }}">{{ event.at|frdate:"j F Y à H:i" }}</time>',
        "{{ action.days_since_update|age }}",
        "{{ update.author }} {{ action.status }} {{ update_list }}",
        "{% include 'components/field_row.html' with date=action.end_date only %}",
    ],
)
def test_it_lets_french_dates_and_other_values_through(source):
    assert problems(source) == []
