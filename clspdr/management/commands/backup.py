"""`python manage.py backup create | restore | drill`: encrypted backups that are known to restore.

The procedure around it (where archives go, how the passphrase is kept, a disaster restore) is
in docs/deployment.md; the mechanics are in clspdr/backup.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from clspdr import backup
from clspdr.env import env_str

PASSPHRASE_VARIABLE = "BACKUP_PASSPHRASE_FILE"


class Command(BaseCommand):
    help = (
        "Sauvegardes chiffrées de la base PostgreSQL et des fichiers (MEDIA_ROOT) : « create » "
        "écrit une archive, « restore » la restaure dans une base neuve puis vérifie les "
        "migrations et compare chaque table, « drill » fait les deux et supprime la copie."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        create = actions.add_parser("create", help="écrire une archive chiffrée")
        create.add_argument("directory", type=Path, help="répertoire des archives")
        create.add_argument(
            "--keep-days",
            type=int,
            default=None,
            help="supprimer ensuite les archives de ce répertoire plus vieilles que N jours",
        )
        restore = actions.add_parser("restore", help="restaurer une archive dans une base neuve")
        restore.add_argument("archive", type=Path, help="fichier clspdr-….tar.gpg")
        restore.add_argument(
            "--database-name",
            required=True,
            help="base à créer (même serveur et même rôle que DATABASE_URL) ; ne doit pas exister",
        )
        restore.add_argument(
            "--media-root", type=Path, required=True, help="répertoire des fichiers, vide ou absent"
        )
        restore.add_argument(
            "--maintenance-db",
            default="postgres",
            help="base existante où se connecter pour créer la nouvelle (défaut : postgres)",
        )
        drill = actions.add_parser(
            "drill", help="exercice : sauvegarder, restaurer dans une base jetable, comparer"
        )
        drill.add_argument(
            "--target-name", default=None, help="base jetable (défaut : <base>_restore_drill)"
        )
        drill.add_argument(
            "--keep", action="store_true", help="garder la base restaurée pour l'examiner"
        )
        for sub in (create, restore, drill):
            sub.add_argument(
                "--passphrase-file",
                type=Path,
                default=None,
                help=f"fichier de la phrase secrète (défaut : variable {PASSPHRASE_VARIABLE})",
            )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            getattr(self, f"_{options['action']}")(options)
        except backup.BackupError as exc:
            raise CommandError(str(exc)) from exc

    def _create(self, options: dict[str, Any]) -> None:
        now = timezone.now()
        path = backup.archive_create(
            database=_source(),
            media_root=Path(settings.MEDIA_ROOT),
            directory=options["directory"],
            passphrase_file=_passphrase_file(options),
            now=now,
        )
        self.stdout.write(self.style.SUCCESS(f"Sauvegarde écrite : {path}"))
        if options["keep_days"] is not None:
            removed = backup.archives_prune(
                options["directory"], keep_days=options["keep_days"], now=now
            )
            for old in removed:
                self.stdout.write(f"Ancienne sauvegarde supprimée : {old.name}")

    def _restore(self, options: dict[str, Any]) -> None:
        report = backup.archive_restore(
            archive=options["archive"],
            target=_source().with_name(options["database_name"]),
            media_root=options["media_root"],
            passphrase_file=_passphrase_file(options),
            maintenance_db=options["maintenance_db"],
        )
        self._report(report)

    def _drill(self, options: dict[str, Any]) -> None:
        source = _source()
        target_name = options["target_name"] or f"{source.name}_restore_drill"
        report = backup.drill(
            database=source,
            media_root=Path(settings.MEDIA_ROOT),
            passphrase_file=_passphrase_file(options),
            target_name=target_name,
            keep=options["keep"],
            now=timezone.now(),
        )
        self._report(report)
        if not options["keep"]:
            self.stdout.write(f"Base d'exercice « {target_name} » supprimée.")

    def _report(self, report: backup.RestoreReport) -> None:
        """Every table with its rows in the archive and after restoring, then the verdict."""
        expected, actual = report.expected["tables"], report.actual["tables"]
        width = max((len(name) for name in expected.keys() | actual.keys()), default=10)
        self.stdout.write(f"{'Table':<{width}}  {'sauvegarde':>10}  {'restaurée':>10}")
        for name in sorted(expected.keys() | actual.keys()):
            before = expected.get(name, {}).get("rows", "—")
            after = actual.get(name, {}).get("rows", "—")
            self.stdout.write(f"{name:<{width}}  {before:>10}  {after:>10}")
        self.stdout.write(
            f"migrate --check : {report.migrations_output or 'aucune migration en attente'}"
        )
        files = len(report.expected.get("media", {}))
        self.stdout.write(f"Fichiers (MEDIA_ROOT) : {files} dans l'archive.")
        if not report.identical:
            raise CommandError(
                f"La base restaurée « {report.database} » diffère de la sauvegarde :\n  - "
                + "\n  - ".join(report.differences)
            )
        tables = len(expected)
        rows = sum(table["rows"] for table in expected.values())
        self.stdout.write(
            self.style.SUCCESS(
                f"Restauration vérifiée dans « {report.database} » : {tables} tables, {rows} "
                "lignes, sommes de contrôle, séquences, déclencheurs et fichiers identiques."
            )
        )


def _source() -> backup.Database:
    if not settings.DATABASE_URL:
        raise backup.BackupError(
            "DATABASE_URL n'est pas défini : la base est le fichier SQLite var/db.sqlite3, "
            "qui se sauvegarde par simple copie."
        )
    return backup.Database(settings.DATABASE_URL)


def _passphrase_file(options: dict[str, Any]) -> Path:
    path = options["passphrase_file"] or env_str(PASSPHRASE_VARIABLE)
    if not path:
        raise backup.BackupError(
            f"Indiquer le fichier de la phrase secrète : --passphrase-file ou {PASSPHRASE_VARIABLE}."
        )
    return Path(path)
