"""Backups that restore (`manage.py backup`, clspdr/backup.py, docs/deployment.md).

The drill runs on PostgreSQL only (skipped on SQLite; CI's DATABASE_URL is PostgreSQL): dump a
database with data in it, restore into a fresh scratch database, `migrate --check` against it,
then compare every table's row count and the content of the key tables, independently of the
command's own report. pg_dump, pg_restore and gpg come from the machine, as in production.
"""

from __future__ import annotations

import datetime
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import psycopg
import pytest
from django.db import connection
from psycopg import sql

from clspdr import backup
from clspdr.demo import demo_seed
from clspdr.models import AuditEvent
from tests.deployment import ROOT

# The tables whose content (not only the row count) must come back identical.
KEY_TABLES = (
    "clspdr_user",
    "clspdr_auditevent",
    "governance_organisation",
    "actions_action",
    "actions_statusupdate",
)

needs_postgresql = pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")),
    reason="the backup drill runs on PostgreSQL (DATABASE_URL); SQLite is a file copy",
)
needs_gpg = pytest.mark.skipif(shutil.which("gpg") is None, reason="gpg is not installed")


@pytest.fixture
def passphrase_file(tmp_path: Path) -> Path:
    path = tmp_path / "backup-passphrase"
    path.write_text("correct horse battery staple, but longer\n", encoding="utf-8")
    path.chmod(0o600)
    return path


# --- Without a database -------------------------------------------------------------------------


@needs_gpg
def test_it_encrypts_so_that_only_the_passphrase_decrypts(tmp_path, passphrase_file):
    secret = tmp_path / "plain.txt"
    secret.write_text("données nominatives", encoding="utf-8")
    encrypted, decrypted = tmp_path / "plain.txt.gpg", tmp_path / "back.txt"

    backup.encrypt(secret, encrypted, passphrase_file=passphrase_file)
    backup.decrypt(encrypted, decrypted, passphrase_file=passphrase_file)

    assert b"nominatives" not in encrypted.read_bytes()
    assert decrypted.read_text(encoding="utf-8") == "données nominatives"
    wrong = tmp_path / "wrong"
    wrong.write_text("not the passphrase", encoding="utf-8")
    wrong.chmod(0o600)
    with pytest.raises(backup.BackupError, match="mauvaise phrase secrète"):
        backup.decrypt(encrypted, tmp_path / "nope.txt", passphrase_file=wrong)


def test_it_refuses_a_passphrase_file_every_user_can_read(tmp_path, passphrase_file):
    passphrase_file.chmod(0o644)
    with pytest.raises(backup.BackupError, match="lisible par tous"):
        backup.passphrase_file_check(passphrase_file)
    empty = tmp_path / "empty"
    empty.write_text("\n", encoding="utf-8")
    empty.chmod(0o600)
    with pytest.raises(backup.BackupError, match="vide"):
        backup.passphrase_file_check(empty)


def _state(**tables: int) -> backup.Manifest:
    return {
        "tables": {
            name: {"rows": rows, "checksum": f"sum-{rows}"} for name, rows in tables.items()
        },
        "sequences": {"public.t_id_seq": 3},
        "triggers": ["public.clspdr_auditevent:clspdr_auditevent_append_only"],
        "media": {"a.pdf": {"size": 3, "sha256": "abc"}},
    }


def test_it_reports_every_difference_between_the_backup_and_the_restored_copy():
    expected = _state(**{"public.a": 2, "public.b": 5})
    assert backup.state_differences(expected, _state(**{"public.a": 2, "public.b": 5})) == []

    actual = _state(**{"public.a": 1})
    actual["tables"]["public.c"] = {"rows": 0, "checksum": "sum-0"}
    actual["sequences"]["public.t_id_seq"] = 1
    actual["triggers"] = []
    actual["media"] = {}
    assert backup.state_differences(expected, actual) == [
        "table public.a : 2 lignes, 1 après",
        "table public.b : absente après restauration",
        "table public.c : absente de la sauvegarde, présente après",
        "séquence public.t_id_seq : 3 puis 1",
        "déclencheur public.clspdr_auditevent:clspdr_auditevent_append_only : absent après "
        "restauration",
        "fichier a.pdf : absent après restauration",
    ]
    same_rows = _state(**{"public.a": 2, "public.b": 5})
    same_rows["tables"]["public.a"]["checksum"] = "edited"
    assert backup.state_differences(expected, same_rows) == [
        "table public.a : même nombre de lignes, contenu différent"
    ]


def test_it_prunes_only_its_own_archives_older_than_the_retention(tmp_path):
    now = datetime.datetime(2026, 5, 31, 2, 30, tzinfo=datetime.UTC)
    names = [backup.archive_name(now - datetime.timedelta(days=days)) for days in (0, 29, 31, 90)]
    for name in [*names, "clspdr-notes.tar.gpg", "other.tar.gpg"]:
        (tmp_path / name).write_bytes(b"x")

    removed = backup.archives_prune(tmp_path, keep_days=30, now=now)

    assert sorted(path.name for path in removed) == sorted(names[2:])
    left = sorted(path.name for path in tmp_path.iterdir())
    assert left == sorted([*names[:2], "clspdr-notes.tar.gpg", "other.tar.gpg"])


# --- On PostgreSQL ------------------------------------------------------------------------------


def _url(name: str) -> str:
    parts = urlsplit(os.environ["DATABASE_URL"])
    return urlunsplit(parts._replace(path="/" + quote(name)))


def _manage(*args: str, database: str, media_root: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "DATABASE_URL": _url(database),
        "MEDIA_ROOT": str(media_root),
        "DEBUG": "1",
        "CONN_MAX_AGE": "0",  # no connection left open when pytest drops its database
    }
    env.pop("BACKUP_PASSPHRASE_FILE", None)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.fixture
def source(transactional_db, tmp_path: Path) -> tuple[str, Path]:
    """The test database with committed data (the demo: strategy, accounts, history, audit
    trail) and a media file; returns its name and MEDIA_ROOT."""
    if connection.vendor != "postgresql":
        pytest.skip("the backup drill runs on PostgreSQL")
    demo_seed(password="drill-password-2026")
    assert AuditEvent.objects.exists()
    media = tmp_path / "media"
    (media / "minutes").mkdir(parents=True)
    (media / "minutes" / "cr-2026-05.pdf").write_bytes(b"%PDF-1.7 minutes")
    return str(connection.settings_dict["NAME"]), media


@pytest.fixture
def scratch_name() -> Iterator[str]:
    name = f"{connection.settings_dict['NAME']}_restore_{uuid.uuid4().hex[:8]}"
    yield name
    with _server() as server:
        server.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def _server() -> psycopg.Connection:
    return psycopg.connect(_url("postgres"), autocommit=True)


def _counts_and_checksums(name: str) -> tuple[dict[str, int], dict[str, str]]:
    with psycopg.connect(_url(name)) as db:

        def value(query: sql.Composed) -> Any:
            row = db.execute(query).fetchone()
            assert row is not None
            return row[0]

        tables = db.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1"
        ).fetchall()
        counts = {
            table: value(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table)))
            for (table,) in tables
        }
        checksums = {
            table: value(
                sql.SQL("SELECT md5(string_agg(t::text, '|' ORDER BY t.id)) FROM {} AS t").format(
                    sql.Identifier(table)
                )
            )
            for table in KEY_TABLES
        }
    return counts, checksums


@needs_postgresql
@needs_gpg
def test_it_restores_a_backup_into_a_fresh_database_identical_to_the_source(
    source, scratch_name, tmp_path, passphrase_file
):
    name, media = source
    archives = tmp_path / "backups"
    archives.mkdir()

    created = _manage(
        "backup", "create", str(archives), "--passphrase-file", str(passphrase_file),
        database=name, media_root=media,
    )  # fmt: skip
    assert created.returncode == 0, created.stdout + created.stderr
    [archive] = archives.iterdir()
    assert archive.name.startswith("clspdr-") and archive.name.endswith(".tar.gpg")
    assert archive.stat().st_mode & 0o077 == 0
    restored_media = tmp_path / "restored-media"
    restored = _manage(
        "backup", "restore", str(archive), "--database-name", scratch_name,
        "--media-root", str(restored_media), "--passphrase-file", str(passphrase_file),
        database=name, media_root=media,
    )  # fmt: skip

    assert restored.returncode == 0, restored.stdout + restored.stderr
    assert "Restauration vérifiée" in restored.stdout
    # Checked again here, not only by the command: migrations, every table, key contents.
    check = _manage("migrate", "--check", database=scratch_name, media_root=media)
    assert check.returncode == 0, check.stdout + check.stderr
    source_counts, source_sums = _counts_and_checksums(name)
    restored_counts, restored_sums = _counts_and_checksums(scratch_name)
    assert restored_counts == source_counts
    assert source_counts["clspdr_user"] > 0 and source_counts["clspdr_auditevent"] > 0
    assert restored_sums == source_sums
    restored_file = restored_media / "minutes" / "cr-2026-05.pdf"
    assert restored_file.read_bytes() == b"%PDF-1.7 minutes"
    # The audit trail's guard came back with it (clspdr/migrations/0006_auditevent.py).
    with psycopg.connect(_url(scratch_name)) as db, pytest.raises(psycopg.errors.RaiseException):
        db.execute("DELETE FROM clspdr_auditevent")


@needs_postgresql
@needs_gpg
def test_it_runs_the_documented_drill_and_leaves_no_scratch_database(
    source, scratch_name, passphrase_file
):
    name, media = source

    drill = _manage(
        "backup", "drill", "--target-name", scratch_name,
        "--passphrase-file", str(passphrase_file), database=name, media_root=media,
    )  # fmt: skip

    assert drill.returncode == 0, drill.stdout + drill.stderr
    assert "Restauration vérifiée" in drill.stdout
    assert "migrate --check" in drill.stdout
    for table in ("public.clspdr_user", "public.actions_action", "public.clspdr_auditevent"):
        assert table in drill.stdout
    with _server() as server:
        assert not backup.database_exists(server, scratch_name)


@needs_postgresql
@needs_gpg
def test_it_never_restores_over_an_existing_database(source, tmp_path, passphrase_file):
    name, media = source
    archives = tmp_path / "backups"
    archives.mkdir()
    created = _manage(
        "backup", "create", str(archives), "--passphrase-file", str(passphrase_file),
        database=name, media_root=media,
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    [archive] = archives.iterdir()
    rows_before = _counts_and_checksums(name)

    restored = _manage(
        "backup", "restore", str(archive), "--database-name", name,
        "--media-root", str(tmp_path / "m"), "--passphrase-file", str(passphrase_file),
        database=name, media_root=media,
    )  # fmt: skip

    assert restored.returncode != 0
    assert "existe déjà" in restored.stderr
    assert _counts_and_checksums(name) == rows_before


@contextmanager
def _migration_unrecorded(app: str, name: str) -> Iterator[None]:
    """As if the database predated migration `app.name`; recorded again afterwards, since the
    test database outlives this test (flush leaves django_migrations alone)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM django_migrations WHERE app = %s AND name = %s RETURNING applied",
            [app, name],
        )
        [(applied,)] = cursor.fetchall()
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO django_migrations (app, name, applied) VALUES (%s, %s, %s)",
                [app, name, applied],
            )


@needs_postgresql
@needs_gpg
def test_it_detects_a_restored_database_behind_the_code_migrations(
    source, scratch_name, tmp_path, passphrase_file
):
    """A backup made by an older version of the application (one migration fewer) restores,
    but `migrate --check` says so and the command fails."""
    name, media = source
    archives = tmp_path / "backups"
    archives.mkdir()
    with _migration_unrecorded("clspdr", "0006_auditevent"):
        created = _manage(
            "backup", "create", str(archives), "--passphrase-file", str(passphrase_file),
            database=name, media_root=media,
        )  # fmt: skip
    assert created.returncode == 0, created.stderr
    [archive] = archives.iterdir()

    restored = _manage(
        "backup", "restore", str(archive), "--database-name", scratch_name,
        "--media-root", str(tmp_path / "m"), "--passphrase-file", str(passphrase_file),
        database=name, media_root=media,
    )  # fmt: skip

    assert restored.returncode != 0
    assert "migrate --check" in restored.stderr
