"""`python manage.py load_strategy [FILE]`: load a local strategy from its data file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from actions.loader import (
    DEFAULT_STRATEGY_FILE,
    StrategyFileError,
    parse_strategy_file,
    strategy_load,
)


class Command(BaseCommand):
    help = (
        "Charge une stratégie locale (axes, actions, sous-actions, partenaires, instances) depuis "
        "son fichier TOML. Ne crée que ce qui manque, ne modifie jamais l'existant ; un fichier "
        "incorrect ne charge rien. Format : docs/strategy-file-format.md."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "file",
            nargs="?",
            default=str(DEFAULT_STRATEGY_FILE),
            help=f"fichier TOML de la stratégie (par défaut : {DEFAULT_STRATEGY_FILE.name})",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        try:
            report = strategy_load(data=parse_strategy_file(path))
        except StrategyFileError as exc:
            details = "\n".join(f"  - {error}" for error in exc.errors)
            raise CommandError(
                f"Chargement de {path} annulé, rien n'a été enregistré :\n{details}"
            ) from exc
        self.stdout.write("\n".join(report.lines()))
