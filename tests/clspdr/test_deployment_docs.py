"""docs/deployment.md promises nothing the repository does not do: every management command,
repository file and variable it names exists, and the commands it quotes are the ones
docker-compose.yml and the systemd units run."""

from __future__ import annotations

import re
import shlex

import pytest
from django.conf import settings
from django.core.management import get_commands

from tests import deployment

ROOT = deployment.ROOT
DOCS = (ROOT / "docs" / "deployment.md").read_text(encoding="utf-8")
BACKUP_ACTIONS = {"create", "restore", "drill"}


def _code_spans() -> list[str]:
    """Inline code and the lines of code blocks."""
    blocks = re.findall(r"^```[a-z]*\n(.*?)^```", DOCS, re.M | re.S)
    spans = re.findall(r"`([^`\n]+)`", re.sub(r"^```[a-z]*\n.*?^```", "", DOCS, flags=re.M | re.S))
    return spans + [line for block in blocks for line in block.splitlines()]


def _commands() -> list[list[str]]:
    """Every quoted command line, its continuation lines joined."""
    text = "\n".join(_code_spans()).replace("\\\n", " ")
    commands = []
    for line in text.splitlines():
        line = line.split(" #", 1)[0].strip()
        if line and not line.startswith("#"):
            try:
                commands.append(shlex.split(line))
            except ValueError:
                continue  # a fragment of a command, not a whole one
    return commands


def _manage_calls() -> list[list[str]]:
    calls = []
    for words in _commands():
        for index, word in enumerate(words):
            # A bare `manage.py` in a sentence, or "…" standing for any arguments, is no call.
            arguments = words[index + 1 :]
            is_manage = word.endswith("manage.py") or word == "clspdr-manage"
            if is_manage and arguments and "…" not in arguments[:2]:
                calls.append(arguments)
    return calls


def test_it_quotes_only_management_commands_that_exist():
    calls = _manage_calls()
    assert len(calls) > 10
    available = set(get_commands())
    for arguments in calls:
        assert arguments and arguments[0] in available, arguments
        if arguments[0] == "backup":
            assert arguments[1] in BACKUP_ACTIONS, arguments


def test_it_quotes_every_backup_action_and_only_those():
    quoted = {arguments[1] for arguments in _manage_calls() if arguments[0] == "backup"}
    for words in _commands():
        if words[:5] == ["docker", "compose", "run", "--rm", "backup"]:
            quoted.add(words[5])
    assert quoted == BACKUP_ACTIONS


def test_it_names_only_files_of_the_repository():
    pattern = re.compile(
        r"^(?:(?:deploy|docs|bin|clspdr|actions|tests)/[\w./-]+"
        r"|docker-compose\.yml|Dockerfile|gunicorn\.conf\.py|README\.md|\.env(?:\.db)?\.example)$"
    )
    named = {span for span in re.findall(r"`([^`\s]+)`", DOCS) if pattern.match(span)}
    assert "deploy/nginx/clspdr.conf" in named
    for path in named:
        assert (ROOT / path).exists(), path


def test_it_describes_every_deployment_file():
    for path in sorted((ROOT / "deploy").rglob("*")):
        if path.is_file():
            assert path.name in DOCS, path.relative_to(ROOT)


def test_it_names_only_variables_that_exist():
    """A variable is in README.md's tables, or a Django setting, or awaits its documentation
    in a TODO block of the guide (the other parts of issue 7)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^\| `([A-Z0-9_]+)` \|", readme, re.M))
    awaiting = set(re.findall(r"`([A-Z][A-Z0-9_]+)`", "\n".join(re.findall(r"^>.*$", DOCS, re.M))))
    names = set(re.findall(r"`([A-Z][A-Z0-9_]{2,})(?:=[^`]*)?`", DOCS))
    names |= {name for name in re.findall(r"\b([A-Z][A-Z0-9]*_[A-Z0-9_]+)=", DOCS)}
    # Read by the tools the guide runs, as the build does: uv, Docker's HOSTNAME.
    build = (ROOT / "Dockerfile").read_text(encoding="utf-8") + "HOSTNAME"
    unknown = {
        name
        for name in names - documented - awaiting
        if not hasattr(settings, name) and name not in build
    }
    assert not unknown, f"not a variable nor a setting: {sorted(unknown)}"


def test_it_promises_no_retention_purge():
    assert "retention purge" not in DOCS.lower()


@pytest.mark.parametrize(
    "topic",
    [
        "## 3. With Docker Compose",
        "## 4. Without Docker: systemd services",
        "## 5. HTTPS behind a reverse proxy",
        "**What `HTTPS=0` is for.**",
        "## 7. Scheduled jobs, and re-running a missed one",
        "## 8. Backups and restore",
        "## 9. Demonstration data: `seed_demo --force`",
    ],
)
def test_it_covers_what_an_it_department_needs(topic):
    assert topic in DOCS


def test_it_quotes_the_commands_compose_runs():
    services = deployment.compose()["services"]
    for name in ("migrate", "web", "worker"):
        assert f"`{' '.join(services[name]['command'])}`" in DOCS, name
    for name in ("worker", "beat"):
        check = services[name]["healthcheck"]["test"][1].replace("$$", "$")
        quoted = check.replace(" --timeout 10", "")
        assert f"`{quoted}`" in DOCS, name
    for name, period in (("web", "40 s"), ("worker", "6 min"), ("beat", "30 s"), ("db", "1 min")):
        row = next(line for line in DOCS.splitlines() if line.startswith(f"| `{name}` |"))
        assert f"| {period}" in row, (name, row)


def test_it_quotes_the_backups_compose_and_systemd_run():
    compose_backup = deployment.compose()["services"]["backup"]
    targets = [v["target"] for v in compose_backup["volumes"] if isinstance(v, dict)]
    assert "/backups" in targets
    assert "docker compose run --rm backup create /backups --keep-days 30" in DOCS
    unit = (ROOT / "deploy/systemd/clspdr-backup.service").read_text(encoding="utf-8")
    assert "manage.py backup create /var/backups/clspdr --keep-days 30" in unit
    assert "every night at 02:30 into\n`/var/backups/clspdr`, keeping 30 days" in DOCS
    assert "gpg --symmetric" in DOCS and "AES-256" in DOCS
    assert "pg_dump --format=custom --no-owner --no-privileges" in DOCS
    source = (ROOT / "clspdr/backup.py").read_text(encoding="utf-8")
    for flag in ('"--format=custom"', '"--no-owner"', '"--no-privileges"', '"--exit-on-error"'):
        assert flag in source
