"""Text typed (or pasted) by people: what is refused before it is stored, and what is stripped
before it leaves in an export.

Two kinds of invisible characters do harm:
- control characters (C0 but tab, line feed and carriage return; DEL; C1): Word's manual line
  break U+000B pasted into a title makes openpyxl refuse the whole XLSX export, and NUL breaks
  PostgreSQL text;
- bidirectional overrides and isolates (U+202A-U+202E, U+2066-U+2069): "rapport\u202egnp.exe"
  displays as "rapportexe.png", and in a message built around the text they reverse the
  application's own words.

Every free-text model field carries `plain_text` (tests/clspdr/test_text.py checks it), so
model forms and the admin refuse them with a French message; plain forms, services and the
strategy loader call it too. Exports call `strip_invisible` for rows written before the rule.
"""

from __future__ import annotations

import re
import unicodedata

from django.core.exceptions import ValidationError
from django.utils.deconstruct import deconstructible

_CONTROL = "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"
_BIDI = "\u202a-\u202e\u2066-\u2069"
FORBIDDEN = re.compile(f"[{_CONTROL}{_BIDI}]")
_BIDI_CHARS = re.compile(f"[{_BIDI}]")


def first_forbidden(text: str) -> tuple[int, str] | None:
    """(position from 1, character) of the first refused character, or None."""
    match = FORBIDDEN.search(text)
    return None if match is None else (match.start() + 1, match.group())


def describe(char: str) -> str:
    """ "U+202E (RIGHT-TO-LEFT OVERRIDE)": what a person can look up."""
    name = unicodedata.name(char, "")
    code = f"U+{ord(char):04X}"
    return f"{code} ({name})" if name else code


def forbidden_message(text: str) -> str | None:
    """The French explanation of why `text` is refused, or None when it is acceptable."""
    found = first_forbidden(text)
    if found is None:
        return None
    position, char = found
    kind = (
        "un caractère invisible qui inverse le sens d'écriture"
        if _BIDI_CHARS.match(char)
        else "un caractère de contrôle invisible"
    )
    return (
        f"Le texte contient {kind} ({describe(char)}, position {position}), souvent hérité "
        "d'un copier-coller. Supprimez-le ou retapez ce passage."
    )


@deconstructible
class PlainTextValidator:
    """Refuses control and bidirectional-override characters (see the module docstring)."""

    code = "forbidden_character"

    def __call__(self, value: object) -> None:
        message = forbidden_message(str(value))
        if message is not None:
            raise ValidationError(message, code=self.code)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PlainTextValidator)

    def __hash__(self) -> int:
        return hash(self.code)


plain_text = PlainTextValidator()


def strip_invisible(text: str) -> str:
    """The text without refused characters (a Word line break U+000B becomes a line feed)."""
    return FORBIDDEN.sub("", text.replace("\x0b", "\n"))
