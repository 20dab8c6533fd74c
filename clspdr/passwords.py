"""Refusing the passwords French speakers choose first (issue 10 of the tracker, point 10).

Django's CommonPasswordValidator knows 20,000 leaked passwords, mostly English, compared whole:
"motdepasse123", "azertyuiop12" and "manosque2026" all passed. This validator also refuses a
password that comes down to a common French word (clspdr/data/common-passwords-fr.txt), a word
of Django's list, the town's name or the site's name, once its leading and trailing digits and
symbols are dropped, its separators removed and look-alike characters read as letters.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.password_validation import CommonPasswordValidator
from django.core.exceptions import ValidationError

FRENCH_LIST = Path(__file__).resolve().parent / "data" / "common-passwords-fr.txt"
# A word shorter than this, once stripped, is a word of the lists only by chance ("ab12...").
MIN_WORD = 3
_EDGES = re.compile(r"^[\W\d_]+|[\W\d_]+$")
_SEPARATORS = re.compile(r"[\s\-_.]+")
_LOOK_ALIKES = str.maketrans(
    {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s"}
)


def fold(text: str) -> str:
    """Lower case, no accents, no separators: "Mot-de-Passe" and "motdepasse" are one word."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    plain = "".join(char for char in decomposed if not unicodedata.combining(char))
    return _SEPARATORS.sub("", plain.strip())


@cache
def french_words() -> frozenset[str]:
    lines = FRENCH_LIST.read_text(encoding="utf-8").splitlines()
    return frozenset(fold(line) for line in lines if line.strip() and not line.startswith("#"))


def local_words() -> set[str]:
    """The town and the site, whole and word by word ("CLSPDR de Manosque": clspdrdemanosque,
    clspdr, manosque): read each time, the settings may change."""
    words = set()
    for name in (settings.TOWN_NAME, settings.SITE_NAME):
        words.add(fold(name))
        words.update(fold(part) for part in re.split(r"[\s\-']+", name) if len(part) > MIN_WORD)
    return {word for word in words if word}


def core_words(password: str) -> set[str]:
    """What the password comes down to: digits and symbols dropped at both ends (years, "123",
    "!"), separators removed, with and without look-alikes read as letters ("m0tdepasse")."""
    core = _EDGES.sub("", fold(password))
    cores = {core, _EDGES.sub("", core.translate(_LOOK_ALIKES))}
    return {core for core in cores if len(core) >= MIN_WORD}


class FrenchCommonPasswordValidator(CommonPasswordValidator):
    """Django's list compared whole as before, then the core words of the password compared with
    Django's list, the French list, the town and the site name."""

    def validate(self, password: str, user: Any = None) -> None:
        super().validate(password, user)
        cores = core_words(password)
        if cores & local_words():
            raise ValidationError(
                "Ce mot de passe est formé du nom de la commune ou du site : il se devine "
                "trop facilement.",
                code="password_too_common",
            )
        if cores & (french_words() | self.passwords):
            raise ValidationError(self.get_error_message(), code="password_too_common")

    def get_error_message(self) -> str:
        return (
            "Ce mot de passe est trop courant : un mot de passe très utilisé, ou un mot courant "
            "précédé ou suivi de chiffres ou de symboles."
        )

    def get_help_text(self) -> str:
        return (
            "Votre mot de passe ne peut pas être un mot de passe courant, ni un mot courant ou "
            "le nom de la commune suivi de chiffres (« soleil2024 », « manosque2026 »)."
        )
