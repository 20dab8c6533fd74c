"""Search that finds what people type: accent- and case-insensitive, on PostgreSQL and SQLite.

"securite" finds "sécurité", "ÉCOLE" finds "école". Both databases fold ASCII case only
(SQLite's LIKE and `lower()`, PostgreSQL's `lower()` under a C locale), and neither drops
accents by itself.
"""

from __future__ import annotations

import unicodedata
from typing import Any

from django.db.models import CharField, TextField, Transform

# Letters that Unicode does not decompose into a base letter and an accent, written as
# PostgreSQL's `unaccent` rules write them, so both databases find "coeur" in "cœur".
_LIGATURES = str.maketrans({"œ": "oe", "Œ": "OE", "æ": "ae", "Æ": "AE", "ø": "o", "Ø": "O"})
SQLITE_FOLD_FUNCTION = "clspdr_fold"


def fold(text: str | None) -> str | None:
    """Text as the search compares it: no accents, lower case ("Sécurité" → "securite")."""
    if text is None:
        return None
    decomposed = unicodedata.normalize("NFKD", text.translate(_LIGATURES))
    return "".join(char for char in decomposed if not unicodedata.combining(char)).lower()


class Folded(Transform):
    """`title__folded__contains="ecole"` finds "École": the column and the searched text both
    lose their accents and case, in SQL (bilateral: the value goes through it too).

    PostgreSQL applies its `unaccent` extension (created by clspdr/migrations/0008_unaccent.py)
    before `lower()`; SQLite calls `fold` above, registered on each connection by
    `register_sqlite_functions`. No index serves a "contains" search either way: the plan's
    few hundred actions are read in one scan.
    """

    lookup_name = "folded"
    bilateral = True
    function = SQLITE_FOLD_FUNCTION

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return super().as_sql(
            compiler, connection, template="lower(unaccent(%(expressions)s))", **extra
        )


def register_sqlite_functions(sender: Any, connection: Any, **kwargs: Any) -> None:
    """`connection_created` receiver: SQLite gets `fold` as a deterministic SQL function."""
    if connection.vendor == "sqlite":
        connection.connection.create_function(SQLITE_FOLD_FUNCTION, 1, fold, deterministic=True)


def install() -> None:
    """Called once from the app's `ready()`."""
    from django.db.backends.signals import connection_created

    CharField.register_lookup(Folded)
    TextField.register_lookup(Folded)
    connection_created.connect(register_sqlite_functions, dispatch_uid="clspdr.search")
