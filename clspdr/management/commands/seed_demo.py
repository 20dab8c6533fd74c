"""`python manage.py seed_demo`: demonstration accounts and data for Manosque (never in production)."""

from __future__ import annotations

import os
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from clspdr.demo import DEFAULT_PASSWORD, demo_seed

PASSWORD_VARIABLE = "DEMO_PASSWORD"
MIN_PASSWORD_LENGTH = 12


class Command(BaseCommand):
    help = (
        "Crée les comptes de démonstration (un par profil), leurs appartenances aux instances, "
        "quelques fiches-actions et un historique d'avancement 2023-2026. Charge la stratégie "
        "de Manosque si besoin. Ne fait rien si la démonstration est déjà chargée. Mot de passe : "
        f"variable {PASSWORD_VARIABLE} (par défaut « {DEFAULT_PASSWORD} »)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--force",
            action="store_true",
            help="s'exécuter même quand DEBUG est désactivé (comptes au mot de passe connu !)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG and not options["force"]:
            raise CommandError(
                "Refusé : DEBUG est désactivé, ce serveur est peut-être en production. Les "
                "comptes de démonstration ont un mot de passe connu de tous. Relancer avec "
                "--force pour passer outre."
            )
        password = os.environ.get(PASSWORD_VARIABLE) or DEFAULT_PASSWORD
        if len(password) < MIN_PASSWORD_LENGTH:
            raise CommandError(
                f"{PASSWORD_VARIABLE} doit compter au moins {MIN_PASSWORD_LENGTH} caractères."
            )
        result = demo_seed(password=password)
        if result.strategy_loaded:
            self.stdout.write("Stratégie de Manosque 2023-2027 chargée (elle manquait).")
        if result.created:
            self.stdout.write(self.style.SUCCESS("Démonstration créée."))
        else:
            self.stdout.write(
                "La démonstration est déjà chargée (le compte « coordination » existe) : "
                "rien n'a été créé ni modifié."
            )
        self._print_accounts(result.accounts)

    def _print_accounts(self, accounts: list[tuple[str, str, str]]) -> None:
        header = ("Identifiant", "Profil", "Organisation")
        widths = [max(len(row[i]) for row in [header, *accounts]) for i in range(2)]
        self.stdout.write("")
        for username, persona, organisation in [header, *accounts]:
            self.stdout.write(f"{username:<{widths[0]}}  {persona:<{widths[1]}}  {organisation}")
        self.stdout.write("")
        if os.environ.get(PASSWORD_VARIABLE):
            source = f"celui de la variable d'environnement {PASSWORD_VARIABLE}"
        else:
            source = f"« {DEFAULT_PASSWORD} » (par défaut ; variable {PASSWORD_VARIABLE} pour le changer)"
        self.stdout.write(f"Mot de passe de tous les comptes : {source}.")
