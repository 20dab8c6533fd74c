"""Backups that are known to restore: `manage.py backup create | restore | drill`.

One backup is one file, `clspdr-<UTC time>.tar.gpg`: a tar of the PostgreSQL dump (custom format,
`--no-owner --no-privileges`, so it restores under any role), the media files, and a manifest of
what the database held, encrypted with `gpg --symmetric` (AES-256) and a passphrase file.

The manifest is computed inside the transaction whose snapshot `pg_dump` exports (`--snapshot`),
so it describes exactly the rows of the dump even while people keep working: row count and
checksum of every table, the value of every sequence, the triggers (the audit trail's
append-only guard, clspdr/migrations/0006_auditevent.py). A restore compares the restored
database with it, and runs `migrate --check` against it. docs/deployment.md describes the
procedure; this module is what it quotes.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, LiteralString
from urllib.parse import quote, urlsplit, urlunsplit

import dj_database_url
import psycopg
from django.conf import settings
from psycopg import sql
from psycopg.conninfo import make_conninfo

ARCHIVE_PREFIX = "clspdr-"
ARCHIVE_SUFFIX = ".tar.gpg"
TIME_FORMAT = "%Y%m%dT%H%M%SZ"
MANIFEST_FORMAT = 1
DUMP_NAME = "database.dump"
MANIFEST_NAME = "manifest.json"
MEDIA_DIR = "media"
IDENTIFIER_MAX_LENGTH = 63  # PostgreSQL truncates longer names

# The same text for the same row on both sides, whatever the roles' or the server's defaults.
STABLE_OUTPUT: tuple[LiteralString, ...] = (
    "SET TIME ZONE 'UTC'",
    "SET DateStyle = 'ISO, YMD'",
    "SET IntervalStyle = 'postgres'",
    "SET extra_float_digits = 3",
    "SET bytea_output = 'hex'",
)

Manifest = dict[str, Any]


class BackupError(Exception):
    """A step failed; the message says which, in French, for the person running the command."""


# --- Databases ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Database:
    """A PostgreSQL database given by a DATABASE_URL; another database of the same server and
    role is `with_name(...)`."""

    url: str
    settings: dict[str, Any] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        parsed = dict(dj_database_url.parse(self.url))
        if parsed.get("ENGINE") != "django.db.backends.postgresql":
            raise BackupError(
                "Les sauvegardes supposent PostgreSQL (DATABASE_URL en postgres://…) ; une "
                "base SQLite se sauvegarde en copiant son fichier."
            )
        object.__setattr__(self, "settings", parsed)

    @property
    def name(self) -> str:
        return str(self.settings["NAME"])

    def with_name(self, name: str) -> Database:
        if not name or len(name.encode()) > IDENTIFIER_MAX_LENGTH:
            raise BackupError(f"Nom de base invalide (1 à 63 octets) : {name!r}")
        parts = urlsplit(self.url)
        return Database(urlunsplit(parts._replace(path="/" + quote(name, safe=""))))

    def connection_parameters(self, *, dbname: str | None = None) -> dict[str, str]:
        """libpq keywords; no statement timeout, whatever the application's settings."""
        options = self.settings.get("OPTIONS") or {}
        values = {
            "dbname": dbname or self.name,
            "user": self.settings.get("USER"),
            "password": self.settings.get("PASSWORD"),
            "host": self.settings.get("HOST"),
            "port": self.settings.get("PORT"),
            "sslmode": options.get("sslmode"),
            "connect_timeout": "10",
            "options": "-c statement_timeout=0 -c lock_timeout=0",
        }
        return {key: str(value) for key, value in values.items() if value not in (None, "")}

    def libpq_environment(self) -> dict[str, str]:
        """For pg_dump / pg_restore: the password in the environment, never on a command line."""
        names = {
            "dbname": "PGDATABASE",
            "user": "PGUSER",
            "password": "PGPASSWORD",
            "host": "PGHOST",
            "port": "PGPORT",
            "sslmode": "PGSSLMODE",
            "connect_timeout": "PGCONNECT_TIMEOUT",
        }
        parameters = self.connection_parameters()
        return {names[key]: value for key, value in parameters.items() if key in names}

    def connect(self, *, dbname: str | None = None, autocommit: bool = False) -> psycopg.Connection:
        conninfo = make_conninfo("", **self.connection_parameters(dbname=dbname))
        try:
            return psycopg.connect(conninfo, autocommit=autocommit)
        except psycopg.OperationalError as exc:
            raise BackupError(f"Connexion à PostgreSQL impossible : {exc}") from exc


def database_exists(server: psycopg.Connection, name: str) -> bool:
    row = server.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
    return row is not None


def database_absent_check(server: psycopg.Connection, name: str) -> None:
    if database_exists(server, name):
        raise BackupError(
            f"La base « {name} » existe déjà : une restauration se fait toujours dans une base "
            "neuve. Choisir un autre nom, ou renommer/supprimer l'ancienne d'abord."
        )


def database_create(server: psycopg.Connection, name: str) -> None:
    """A fresh, empty database (template0: nothing added to template1 leaks in)."""
    database_absent_check(server, name)
    server.execute(
        sql.SQL("CREATE DATABASE {} TEMPLATE template0 ENCODING 'UTF8'").format(
            sql.Identifier(name)
        )
    )


def database_drop(server: psycopg.Connection, name: str) -> None:
    server.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


# --- What a database holds ------------------------------------------------------------------


def database_state(connection: psycopg.Connection) -> Manifest:
    """Tables (rows, checksum), sequences and triggers, as the current transaction sees them."""
    for statement in STABLE_OUTPUT:
        connection.execute(statement)
    return {
        "tables": {
            f"{schema}.{table}": _table_state(connection, schema, table)
            for schema, table in _user_tables(connection)
        },
        "sequences": _sequences(connection),
        "triggers": _triggers(connection),
    }


def _user_tables(connection: psycopg.Connection) -> list[tuple[str, str]]:
    rows = connection.execute(
        """
        SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p') AND n.nspname <> 'information_schema'
          AND n.nspname NOT LIKE 'pg\\_%'
        ORDER BY 1, 2
        """
    ).fetchall()
    return [(str(schema), str(table)) for schema, table in rows]


def _table_state(connection: psycopg.Connection, schema: str, table: str) -> dict[str, Any]:
    # One md5 per row, sorted: independent of the physical order, 32 bytes of memory per row.
    query = sql.SQL(
        "SELECT count(*), md5(coalesce(string_agg(md5(t::text), '' ORDER BY md5(t::text)), '')) "
        "FROM {}.{} AS t"
    ).format(sql.Identifier(schema), sql.Identifier(table))
    row = connection.execute(query).fetchone()
    assert row is not None
    return {"rows": int(row[0]), "checksum": str(row[1])}


def _sequences(connection: psycopg.Connection) -> dict[str, int | None]:
    rows = connection.execute(
        "SELECT schemaname, sequencename, last_value FROM pg_sequences ORDER BY 1, 2"
    ).fetchall()
    return {f"{schema}.{name}": value for schema, name, value in rows}


def _triggers(connection: psycopg.Connection) -> list[str]:
    rows = connection.execute(
        """
        SELECT n.nspname || '.' || c.relname || ':' || t.tgname
        FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE NOT t.tgisinternal ORDER BY 1
        """
    ).fetchall()
    return [str(name) for (name,) in rows]


def media_state(root: Path) -> dict[str, dict[str, Any]]:
    """Relative path -> size and SHA-256 of every regular file under `root`."""
    files: dict[str, dict[str, Any]] = {}
    if not root.is_dir():
        return files
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.is_symlink():
            digest = hashlib.sha256()
            with path.open("rb") as handle:
                for chunk in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(chunk)
            relative = path.relative_to(root).as_posix()
            files[relative] = {"size": path.stat().st_size, "sha256": digest.hexdigest()}
    return files


def state_differences(expected: Manifest, actual: Manifest) -> list[str]:
    """Every way `actual` (the restored copy) differs from `expected` (the manifest), in French."""
    differences: list[str] = []
    expected_tables, actual_tables = expected["tables"], actual["tables"]
    for table in sorted(expected_tables.keys() | actual_tables.keys()):
        before, after = expected_tables.get(table), actual_tables.get(table)
        if before is None:
            differences.append(f"table {table} : absente de la sauvegarde, présente après")
        elif after is None:
            differences.append(f"table {table} : absente après restauration")
        elif before["rows"] != after["rows"]:
            differences.append(f"table {table} : {before['rows']} lignes, {after['rows']} après")
        elif before["checksum"] != after["checksum"]:
            differences.append(f"table {table} : même nombre de lignes, contenu différent")
    for sequence in sorted(expected["sequences"].keys() | actual["sequences"].keys()):
        before_value = expected["sequences"].get(sequence)
        after_value = actual["sequences"].get(sequence)
        if before_value != after_value:
            differences.append(f"séquence {sequence} : {before_value} puis {after_value}")
    for trigger in sorted(set(expected["triggers"]) ^ set(actual["triggers"])):
        where = "absent après restauration" if trigger in expected["triggers"] else "en trop"
        differences.append(f"déclencheur {trigger} : {where}")
    differences.extend(_media_differences(expected.get("media", {}), actual.get("media", {})))
    return differences


def _media_differences(expected: dict[str, Any], actual: dict[str, Any]) -> list[str]:
    differences = []
    for name in sorted(expected.keys() | actual.keys()):
        if expected.get(name) != actual.get(name):
            state = "absent" if name not in actual else "différent"
            differences.append(f"fichier {name} : {state} après restauration")
    return differences


# --- Encryption -----------------------------------------------------------------------------


def passphrase_file_check(path: Path) -> Path:
    """The passphrase file exists, is not empty and not readable by every user of the host."""
    try:
        mode = path.stat().st_mode
        empty = not path.read_bytes().strip()
    except OSError as exc:
        raise BackupError(f"Fichier de phrase secrète illisible : {path} ({exc.strerror})") from exc
    if empty:
        raise BackupError(f"Le fichier de phrase secrète {path} est vide.")
    if mode & stat.S_IROTH:
        raise BackupError(
            f"Le fichier de phrase secrète {path} est lisible par tous : chmod o-rwx {path}"
        )
    return path


@contextmanager
def _gpg_home() -> Iterator[Path]:
    """A throw-away GnuPG home: symmetric encryption needs no keyring, and the agent it starts
    is stopped afterwards."""
    with tempfile.TemporaryDirectory(prefix="clspdr-gpg-") as home:
        os.chmod(home, 0o700)
        try:
            yield Path(home)
        finally:
            subprocess.run(  # noqa: S603 - fixed arguments, no shell
                ["gpgconf", "--homedir", home, "--kill", "gpg-agent"],  # noqa: S607 - from PATH
                capture_output=True,
                check=False,
            )


def _gpg(arguments: list[str], *, passphrase_file: Path) -> None:
    with _gpg_home() as home:
        command = [
            "gpg",
            "--homedir",
            str(home),
            "--batch",
            "--yes",
            "--quiet",
            "--no-symkey-cache",
            "--pinentry-mode",
            "loopback",
            "--passphrase-file",
            str(passphrase_file),
            *arguments,
        ]
        result = _run(command, what="gpg")
    if result.returncode != 0:
        raise BackupError(
            "gpg a échoué (mauvaise phrase secrète, ou archive incomplète ou altérée) : "
            + result.stderr.strip()
        )


def encrypt(source: Path, target: Path, *, passphrase_file: Path) -> None:
    # The dump is already compressed: gpg's compression would only cost time.
    arguments = ["--symmetric", "--cipher-algo", "AES256", "--compress-algo", "none"]
    _gpg([*arguments, "--output", str(target), str(source)], passphrase_file=passphrase_file)


def decrypt(source: Path, target: Path, *, passphrase_file: Path) -> None:
    _gpg(["--decrypt", "--output", str(target), str(source)], passphrase_file=passphrase_file)


def _run(
    command: list[str], *, what: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    try:
        # No shell; the tools come from PATH on purpose (the server's version, docs/deployment.md).
        return subprocess.run(  # noqa: S603
            command,
            env={**os.environ, **(env or {})},
            capture_output=True,
            text=True,
            check=False,
        )
    except FileNotFoundError as exc:
        raise BackupError(
            f"Commande introuvable : {command[0]} ({what}). Installer le client PostgreSQL "
            "(même version majeure que le serveur) et gpg."
        ) from exc


def _run_checked(command: list[str], *, what: str, env: dict[str, str] | None = None) -> str:
    result = _run(command, what=what, env=env)
    if result.returncode != 0:
        raise BackupError(f"{what} a échoué : {result.stderr.strip() or result.stdout.strip()}")
    return result.stdout


# --- Create ---------------------------------------------------------------------------------


def archive_name(moment: datetime.datetime) -> str:
    return (
        f"{ARCHIVE_PREFIX}{moment.astimezone(datetime.UTC).strftime(TIME_FORMAT)}{ARCHIVE_SUFFIX}"
    )


def archive_create(
    *,
    database: Database,
    media_root: Path,
    directory: Path,
    passphrase_file: Path,
    now: datetime.datetime,
) -> Path:
    """Dump, manifest and media in one encrypted file of `directory`; returns its path."""
    passphrase_file_check(passphrase_file)
    if not directory.is_dir():
        raise BackupError(f"Le répertoire des sauvegardes n'existe pas : {directory}")
    target = directory / archive_name(now)
    with tempfile.TemporaryDirectory(prefix="clspdr-backup-") as work_dir:
        work = Path(work_dir)
        manifest = _dump(database, work / DUMP_NAME)
        manifest.update(
            format=MANIFEST_FORMAT,
            created_at=now.astimezone(datetime.UTC).isoformat(),
            database=database.name,
            media=media_state(media_root),
        )
        (work / MANIFEST_NAME).write_text(json.dumps(manifest, indent=1), encoding="utf-8")
        tar_path = work / "backup.tar"
        with tarfile.open(tar_path, "w") as tar:
            tar.add(work / DUMP_NAME, arcname=DUMP_NAME)
            tar.add(work / MANIFEST_NAME, arcname=MANIFEST_NAME)
            if media_root.is_dir():
                tar.add(media_root, arcname=MEDIA_DIR)
        # Written under a temporary name, renamed when complete: an interrupted run never
        # leaves a file that looks like a backup.
        partial = target.with_name(target.name + ".partial")
        encrypt(tar_path, partial, passphrase_file=passphrase_file)
        partial.chmod(0o600)
        partial.rename(target)
    return target


def _dump(database: Database, path: Path) -> Manifest:
    """pg_dump in the snapshot of a transaction that then describes the same rows."""
    with database.connect() as connection:
        connection.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        connection.read_only = True
        row = connection.execute("SELECT pg_export_snapshot(), current_setting('server_version')")
        snapshot, server_version = row.fetchone() or ("", "")
        _run_checked(
            [
                "pg_dump",
                "--format=custom",
                "--no-owner",
                "--no-privileges",
                f"--snapshot={snapshot}",
                f"--file={path}",
            ],
            what="pg_dump",
            env=database.libpq_environment(),
        )
        state = database_state(connection)
        connection.rollback()
    state["server_version"] = server_version
    return state


def archives_prune(directory: Path, *, keep_days: int, now: datetime.datetime) -> list[Path]:
    """Delete this command's archives older than `keep_days`, by the time in their name."""
    limit = now.astimezone(datetime.UTC) - datetime.timedelta(days=keep_days)
    removed = []
    for path in sorted(directory.glob(f"{ARCHIVE_PREFIX}*{ARCHIVE_SUFFIX}")):
        moment = _archive_time(path)
        if moment is not None and moment < limit:
            path.unlink()
            removed.append(path)
    return removed


def _archive_time(path: Path) -> datetime.datetime | None:
    stamp = path.name.removeprefix(ARCHIVE_PREFIX).removesuffix(ARCHIVE_SUFFIX)
    try:
        return datetime.datetime.strptime(stamp, TIME_FORMAT).replace(tzinfo=datetime.UTC)
    except ValueError:
        return None  # not one of ours: never deleted


# --- Restore --------------------------------------------------------------------------------


@dataclass
class RestoreReport:
    database: str
    media_root: Path
    expected: Manifest
    actual: Manifest
    migrations_output: str
    differences: list[str]

    @property
    def identical(self) -> bool:
        return not self.differences


def archive_restore(
    *,
    archive: Path,
    target: Database,
    media_root: Path,
    passphrase_file: Path,
    maintenance_db: str,
) -> RestoreReport:
    """Restore into a database that does not exist yet and an empty media directory, then check
    migrations and compare everything with the manifest."""
    passphrase_file_check(passphrase_file)
    if media_root.exists() and any(media_root.iterdir()):
        raise BackupError(f"Le répertoire des médias {media_root} n'est pas vide.")
    with target.connect(dbname=maintenance_db, autocommit=True) as server:
        database_absent_check(server, target.name)
    with tempfile.TemporaryDirectory(prefix="clspdr-restore-") as work_dir:
        work = Path(work_dir)
        expected = _unpack(archive, work, passphrase_file=passphrase_file)
        with target.connect(dbname=maintenance_db, autocommit=True) as server:
            database_create(server, target.name)
        _run_checked(
            [
                "pg_restore",
                "--no-owner",
                "--no-privileges",
                "--exit-on-error",
                "--single-transaction",
                f"--dbname={target.name}",
                str(work / DUMP_NAME),
            ],
            what="pg_restore",
            env=target.libpq_environment(),
        )
        _media_restore(work / MEDIA_DIR, media_root)
    migrations_output = migrations_check(target)
    with target.connect() as connection:
        actual = database_state(connection)
        connection.rollback()
    actual["media"] = media_state(media_root)
    return RestoreReport(
        database=target.name,
        media_root=media_root,
        expected=expected,
        actual=actual,
        migrations_output=migrations_output,
        differences=state_differences(expected, actual),
    )


def _unpack(archive: Path, work: Path, *, passphrase_file: Path) -> Manifest:
    tar_path = work / "backup.tar"
    decrypt(archive, tar_path, passphrase_file=passphrase_file)
    with tarfile.open(tar_path) as tar:
        tar.extractall(work, filter="data")  # no absolute paths, no "..", no devices
    tar_path.unlink()
    manifest: Manifest = json.loads((work / MANIFEST_NAME).read_text(encoding="utf-8"))
    if manifest.get("format") != MANIFEST_FORMAT:
        raise BackupError(f"Format de sauvegarde inconnu : {manifest.get('format')!r}")
    return manifest


def _media_restore(source: Path, target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    if source.is_dir():
        shutil.copytree(source, target, dirs_exist_ok=True)


def migrations_check(target: Database) -> str:
    """`manage.py migrate --check` against the restored database: the code and the schema agree."""
    command = [sys.executable, str(Path(settings.BASE_DIR) / "manage.py"), "migrate", "--check"]
    result = _run(command, what="migrate --check", env={"DATABASE_URL": target.url})
    if result.returncode != 0:
        raise BackupError(
            "migrate --check : la base restaurée ne correspond pas aux migrations du code "
            f"(restaurer avec la version de l'application qui a fait la sauvegarde).\n"
            f"{result.stdout}{result.stderr}"
        )
    return result.stdout.strip()


# --- Drill ----------------------------------------------------------------------------------


def drill(
    *,
    database: Database,
    media_root: Path,
    passphrase_file: Path,
    target_name: str,
    keep: bool,
    now: datetime.datetime,
) -> RestoreReport:
    """Create a backup now, restore it into `target_name`, compare; drop the copy unless `keep`."""
    target = database.with_name(target_name)
    with database.connect(autocommit=True) as server:
        database_absent_check(server, target_name)  # never drop a base the drill did not make
    with tempfile.TemporaryDirectory(prefix="clspdr-drill-") as work_dir:
        work = Path(work_dir)
        archive = archive_create(
            database=database,
            media_root=media_root,
            directory=work,
            passphrase_file=passphrase_file,
            now=now,
        )
        try:
            return archive_restore(
                archive=archive,
                target=target,
                media_root=work / "restored-media",
                passphrase_file=passphrase_file,
                maintenance_db=database.name,
            )
        finally:
            if not keep:
                with database.connect(autocommit=True) as server:
                    database_drop(server, target_name)
