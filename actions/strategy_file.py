"""Read a strategy data file (TOML), described in docs/strategy-file-format.md.

`parse_strategy_file` reads the whole file into dataclasses and collects every error of form
(types, keys, lengths, choices, references between tables) with its place in the file. The rules
of an action's sheet are not checked here: `actions.loader.strategy_load` hands the sheets to the
services, which apply the same rules as the sheet editor, and reports their errors at the line of
the file they come from.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import partial
from pathlib import Path
from typing import Any

from actions.models import Priority
from actions.services import SHEET_FIELDS
from clspdr.text import forbidden_message
from governance.models import BodyKind, Cadence, OrganisationKind

DEFAULT_STRATEGY_FILE = Path(__file__).resolve().parent / "data" / "manosque-2023-2027.toml"


class StrategyFileError(Exception):
    """The file cannot be loaded; `errors` name each problem and where it is."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = errors


# --- What a file holds, once validated -------------------------------------------------------


@dataclass(frozen=True)
class OrganisationData:
    name: str
    short_name: str = ""
    kind: str = OrganisationKind.OTHER


@dataclass(frozen=True)
class FundingData:
    year: int
    funder: str
    amount: Decimal
    line: int | None = None  # in the file, when read from one


@dataclass
class SubActionData:
    position: int
    title: str
    number: str = ""
    description: str = ""


@dataclass
class SubListData:
    position: int
    title: str
    intro: str = ""
    items: list[SubActionData] = field(default_factory=list)


@dataclass
class ActionData:
    number: str
    position: int
    title: str
    description: str = ""
    # Organisation references as written (name or short name), resolved when loading.
    lead: str = ""
    contributors: list[str] = field(default_factory=list)
    target_public: str = ""
    territory: str = ""
    objectives: str = ""
    means: str = ""
    priority: str = ""
    indicators: str = ""
    start_date: date | None = None
    end_date: date | None = None
    fundings: list[FundingData] = field(default_factory=list)
    sublists: list[SubListData] = field(default_factory=list)
    # Where the action's table and each of its keys are in the file, when read from one.
    line: int | None = None
    key_lines: dict[str, int] = field(default_factory=dict)

    def line_of(self, key: str) -> int | None:
        return self.key_lines.get(key, self.line)


@dataclass
class AxisData:
    number: int
    title: str
    priority_issue: str = ""
    description: str = ""
    actions: list[ActionData] = field(default_factory=list)


@dataclass(frozen=True)
class BodyData:
    kind: str
    name: str
    cadence: str
    axis: int | None = None
    description: str = ""


@dataclass
class StrategyData:
    slug: str
    title: str
    town: str
    start_year: int
    end_year: int
    preamble: str = ""
    conclusion: str = ""
    organisations: list[OrganisationData] = field(default_factory=list)
    axes: list[AxisData] = field(default_factory=list)
    bodies: list[BodyData] = field(default_factory=list)


# --- Reading ---------------------------------------------------------------------------------

_MISSING = object()
_SLUG = re.compile(r"^[-a-zA-Z0-9_]+$")
_TOML_PLACE = re.compile(r"\(at line (\d+), column (\d+)\)")


class _Table:
    """One TOML table being read: typed getters that record errors instead of raising."""

    def __init__(self, raw: object, place: str, allowed: set[str], errors: list[str]) -> None:
        self.place, self.errors = place, errors
        self.raw: dict[str, Any] = raw if isinstance(raw, dict) else {}
        if not isinstance(raw, dict):
            self.error("table attendue")
        for key in sorted(set(self.raw) - allowed):
            self.error(f"clé inconnue « {key} »")

    def error(self, message: str) -> None:
        self.errors.append(f"{self.place} : {message}")

    def text(
        self,
        key: str,
        *,
        required: bool = False,
        max_length: int | None = None,
        plain: bool = True,
    ) -> str:
        value = self.raw.get(key, _MISSING)
        if value is _MISSING or (isinstance(value, str) and not value.strip()):
            if required:
                self.error(f"champ « {key} » manquant")
            return ""
        if not isinstance(value, str):
            self.error(f"champ « {key} » : texte attendu")
            return ""
        value = value.strip()
        if max_length is not None and len(value) > max_length:
            self.error(f"champ « {key} » : {max_length} caractères au plus ({len(value)})")
        if plain:
            self._plain(key, value)
        return value

    def _plain(self, key: str, value: str) -> None:
        message = forbidden_message(value)
        if message is not None:
            self.error(f"champ « {key} » : {message}")

    def number(self, key: str, *, required: bool = False) -> str:
        """An action or sub-action number, kept as written: 2, "2" or "2 bis"."""
        value = self.raw.get(key, _MISSING)
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            return str(value)
        if value is _MISSING or isinstance(value, str):
            return self.text(key, required=required, max_length=10)
        self.error(f"champ « {key} » : numéro attendu (texte ou entier)")
        return ""

    def integer(self, key: str, *, required: bool = False, low: int = 0, high: int = 32767) -> int:
        value = self.raw.get(key, _MISSING)
        if value is _MISSING:
            if required:
                self.error(f"champ « {key} » manquant")
            return 0
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            self.error(f"champ « {key} » : entier entre {low} et {high} attendu")
            return 0
        return value

    def choice(self, key: str, choices: list[str], *, required: bool, default: str = "") -> str:
        value = self.text(key, required=required)
        if value and value not in choices:
            self.error(
                f"champ « {key} » : valeur « {value} » inconnue "
                f"(valeurs possibles : {', '.join(choices)})"
            )
        return value or default

    def day(self, key: str) -> date | None:
        value = self.raw.get(key, _MISSING)
        if value is _MISSING:
            return None
        day = _as_date(value)
        if day is None:
            self.error(f"champ « {key} » : date attendue (AAAA-MM-JJ)")
        return day

    def amount(self, key: str) -> Decimal:
        value = self.raw.get(key, _MISSING)
        if value is _MISSING:
            self.error(f"champ « {key} » manquant")
            return Decimal(0)
        try:
            if isinstance(value, bool):
                raise InvalidOperation
            amount = Decimal(str(value).replace(",", ".").replace(" ", ""))
        except InvalidOperation:
            amount = Decimal("NaN")
        exponent = amount.as_tuple().exponent
        # The form of an amount only: whether it may be negative is the sheet's rule.
        if (
            not amount.is_finite()
            or not isinstance(exponent, int)
            or exponent < -2
            or abs(amount) >= 10**10
        ):
            self.error(f"champ « {key} » : montant en euros attendu (ex. 1500 ou 1500.50)")
            return Decimal(0)
        return amount

    def texts(self, key: str) -> list[str]:
        value = self.raw.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            self.error(f"champ « {key} » : liste de textes attendue")
            return []
        for item in value:
            self._plain(key, item)
        return list(dict.fromkeys(v.strip() for v in value))

    def tables(self, key: str) -> list[Any]:
        value = self.raw.get(key, [])
        if not isinstance(value, list):
            self.error(f"« {key} » : liste de tables attendue ([[{key}]])")
            return []
        return value


def _as_date(value: object) -> date | None:
    """A TOML date, or the text of one; None for anything else."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return None
    return None


def parse_strategy_file(path: Path) -> StrategyData:
    """Read and validate a strategy file; raise StrategyFileError naming every problem."""
    try:
        content = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise StrategyFileError([f"fichier introuvable : {path}"]) from None
    except UnicodeDecodeError:
        raise StrategyFileError(["le fichier n'est pas encodé en UTF-8"]) from None
    try:
        document = tomllib.loads(content)
    except tomllib.TOMLDecodeError as exc:
        raise StrategyFileError([f"fichier TOML mal formé : {_french_toml_error(exc)}"]) from None
    data = parse_strategy(document)
    _locate(data, _Lines(content))
    return data


def _french_toml_error(exc: tomllib.TOMLDecodeError) -> str:
    message = str(exc)
    place = _TOML_PLACE.search(message)
    if place is None:
        return message
    detail = message[: place.start()].strip()
    return f"ligne {place.group(1)}, colonne {place.group(2)} ({detail})"


def parse_strategy(document: dict[str, Any]) -> StrategyData:
    """Validate an already parsed TOML document (see parse_strategy_file)."""
    errors: list[str] = []
    top = _Table(document, "fichier", {"strategy", "organisations", "axes", "bodies"}, errors)
    if "strategy" not in document:
        top.error("table [strategy] manquante")
    data = _parse_strategy_table(
        _Table(document.get("strategy", {}), "stratégie", _STRATEGY_KEYS, errors)
    )
    data.organisations = _parse_organisations(top.tables("organisations"), errors)
    data.axes = [
        _parse_axis(raw, position, errors) for position, raw in enumerate(top.tables("axes"), 1)
    ]
    if not data.axes:
        top.error("aucun axe ([[axes]])")
    _check_unique([(f"axe {a.number}", a.number) for a in data.axes if a.number], "numéro", errors)
    data.bodies = [
        _parse_body(raw, position, errors) for position, raw in enumerate(top.tables("bodies"), 1)
    ]
    _check_bodies(data, errors)
    if errors:
        raise StrategyFileError(errors)
    return data


_STRATEGY_KEYS = {"slug", "title", "town", "start_year", "end_year", "preamble", "conclusion"}


def _parse_strategy_table(t: _Table) -> StrategyData:
    slug = t.text("slug", required=True, max_length=100)
    if slug and not _SLUG.match(slug):
        t.error("champ « slug » : lettres sans accent, chiffres, « - » et « _ » seulement")
    data = StrategyData(
        slug=slug,
        title=t.text("title", required=True, max_length=300),
        town=t.text("town", required=True, max_length=150),
        start_year=t.integer("start_year", required=True, low=1900, high=2200),
        end_year=t.integer("end_year", required=True, low=1900, high=2200),
        preamble=t.text("preamble"),
        conclusion=t.text("conclusion"),
    )
    if data.start_year and data.end_year and data.end_year < data.start_year:
        t.error("l'année de fin (« end_year ») précède l'année de début (« start_year »)")
    return data


def _parse_organisations(tables: list[Any], errors: list[str]) -> list[OrganisationData]:
    organisations = []
    for position, raw in enumerate(tables, 1):
        t = _Table(raw, f"organisation {position}", {"name", "short_name", "kind"}, errors)
        organisations.append(
            OrganisationData(
                name=t.text("name", required=True, max_length=200),
                short_name=t.text("short_name", max_length=40),
                kind=t.choice(
                    "kind", OrganisationKind.values, required=False, default=OrganisationKind.OTHER
                ),
            )
        )
    # Names and short names are both ways to refer to an organisation: each must be unambiguous.
    seen: dict[str, str] = {}
    for position, org in enumerate(organisations, 1):
        for label in dict.fromkeys(filter(None, (org.name, org.short_name))):
            if seen.setdefault(label, org.name) != org.name:
                errors.append(
                    f"organisation {position} : « {label} » désigne déjà l'organisation "
                    f"« {seen[label]} »"
                )
    return organisations


_AXIS_KEYS = {"number", "title", "priority_issue", "description", "actions"}


def _parse_axis(raw: object, position: int, errors: list[str]) -> AxisData:
    number = raw.get("number") if isinstance(raw, dict) else None
    place = f"axe {number}" if isinstance(number, int) else f"axe en position {position}"
    t = _Table(raw, place, _AXIS_KEYS, errors)
    axis = AxisData(
        number=t.integer("number", required=True, low=1, high=99),
        title=t.text("title", required=True, max_length=300),
        priority_issue=t.text("priority_issue", max_length=300),
        description=t.text("description"),
    )
    axis.actions = [
        _parse_action(raw_action, place, index, errors)
        for index, raw_action in enumerate(t.tables("actions"), 1)
    ]
    _check_unique(
        [(f"{place}, action {a.number}", a.number) for a in axis.actions if a.number],
        "numéro",
        errors,
    )
    return axis


# The file names the sheet's fields as the services do (actions/services.py SHEET_FIELDS),
# except the lead, which the file gives as an organisation reference.
FILE_KEYS = {"lead_organisation": "lead"}
ACTION_KEYS = {FILE_KEYS.get(name, name) for name in SHEET_FIELDS} | {
    "number",
    "contributors",
    "fundings",
    "sublists",
}


def _parse_action(raw: object, axis_place: str, position: int, errors: list[str]) -> ActionData:
    number = raw.get("number") if isinstance(raw, dict) else None
    label = number if isinstance(number, (str, int)) and str(number).strip() else None
    place = (
        f"{axis_place}, action {label}" if label else f"{axis_place}, action en position {position}"
    )
    t = _Table(raw, place, ACTION_KEYS, errors)
    # The sheet's texts: whether they are filled in and plain is the sheet's rule (services).
    sheet_text = partial(t.text, plain=False)
    action = ActionData(
        number=t.number("number", required=True),
        position=position,
        title=sheet_text("title", max_length=300),
        description=sheet_text("description"),
        lead=t.text("lead", max_length=200),
        contributors=t.texts("contributors"),
        target_public=sheet_text("target_public"),
        territory=sheet_text("territory", max_length=300),
        objectives=sheet_text("objectives"),
        means=sheet_text("means"),
        priority=t.choice("priority", Priority.values, required=False),
        indicators=sheet_text("indicators"),
        start_date=t.day("start_date"),
        end_date=t.day("end_date"),
    )
    for index, raw_funding in enumerate(t.tables("fundings"), 1):
        f = _Table(
            raw_funding, f"{place}, financement {index}", {"year", "funder", "amount"}, errors
        )
        action.fundings.append(
            FundingData(
                year=f.integer("year", required=True),
                funder=f.text("funder", max_length=150, plain=False),
                amount=f.amount("amount"),
            )
        )
    action.sublists = [
        _parse_sublist(raw_list, place, index, errors)
        for index, raw_list in enumerate(t.tables("sublists"), 1)
    ]
    _check_unique(
        [(f"{place}, liste « {s.title} »", s.title) for s in action.sublists if s.title],
        "titre",
        errors,
    )
    return action


def _parse_sublist(raw: object, action_place: str, position: int, errors: list[str]) -> SubListData:
    place = f"{action_place}, liste {position}"
    t = _Table(raw, place, {"title", "intro", "items"}, errors)
    sublist = SubListData(
        position=position,
        title=t.text("title", required=True, max_length=300),
        intro=t.text("intro"),
    )
    for index, raw_item in enumerate(t.tables("items"), 1):
        i = _Table(raw_item, f"{place}, point {index}", {"number", "title", "description"}, errors)
        sublist.items.append(
            SubActionData(
                position=index,
                number=i.number("number"),
                title=i.text("title", required=True, max_length=300),
                description=i.text("description"),
            )
        )
    _check_unique(
        [(f"{place}, point « {i.title} »", i.title) for i in sublist.items if i.title],
        "titre",
        errors,
    )
    return sublist


def _parse_body(raw: object, position: int, errors: list[str]) -> BodyData:
    t = _Table(
        raw, f"instance {position}", {"kind", "name", "cadence", "axis", "description"}, errors
    )
    return BodyData(
        kind=t.choice("kind", BodyKind.values, required=True),
        name=t.text("name", required=True, max_length=200),
        cadence=t.choice("cadence", Cadence.values, required=True),
        axis=t.integer("axis", low=1, high=99) or None,
        description=t.text("description"),
    )


def _check_unique(keyed: list[tuple[str, Any]], what: str, errors: list[str]) -> None:
    seen: set[Any] = set()
    for place, key in keyed:
        if key in seen:
            errors.append(f"{place} : {what} en double")
        seen.add(key)


def _check_bodies(data: StrategyData, errors: list[str]) -> None:
    numbers = {axis.number for axis in data.axes}
    seen: set[tuple[str, int | None]] = set()
    for position, body in enumerate(data.bodies, 1):
        if body.axis is not None and body.axis not in numbers:
            errors.append(f"instance {position} : l'axe {body.axis} n'existe pas dans le fichier")
        if (body.kind, body.axis) in seen:
            on_axis = f" pour l'axe {body.axis}" if body.axis else ""
            errors.append(f"instance {position} : type « {body.kind} »{on_axis} en double")
        seen.add((body.kind, body.axis))


# --- Where things are in the file ------------------------------------------------------------

_HEADER = re.compile(r"^\s*\[\[?\s*([A-Za-z0-9_.\s-]+?)\s*\]\]?\s*(#.*)?$")


class _Lines:
    """The lines of the tables of a TOML file: tomllib gives the values, not where they are."""

    def __init__(self, content: str) -> None:
        self.lines = content.splitlines()
        self.headers: list[tuple[int, str]] = []  # (line number, dotted table name)
        multiline: str | None = None  # the quotes of the multi-line string being read
        for number, text in enumerate(self.lines, 1):
            if multiline is None and (match := _HEADER.match(text)):
                self.headers.append((number, re.sub(r"\s", "", match.group(1))))
            for quotes in ('"""', "'''"):
                if multiline in (None, quotes) and text.count(quotes) % 2:
                    multiline = None if multiline else quotes

    def table(self, name: str, index: int) -> tuple[int, int, int] | None:
        """The `index`-th (from 0) [[name]] of the file: its header's line, the last line of
        its own keys, and the last line of its sub-tables."""
        starts = [i for i, (_, header) in enumerate(self.headers) if header == name]
        if index >= len(starts):
            return None
        i = starts[index]
        following = self.headers[i + 1 :]
        end = next((n - 1 for n, _ in following), len(self.lines))
        nested = next(
            (n - 1 for n, header in following if not header.startswith(name + ".")),
            len(self.lines),
        )
        return self.headers[i][0], end, nested

    def keys(self, key: str, first: int, last: int) -> list[int]:
        """The lines, between `first` and `last`, where `key` is given a value (`key = ...`,
        also inside an inline table)."""
        pattern = re.compile(rf"(^|[{{,])\s*{re.escape(key)}\s*=")
        return [n for n in range(first, last + 1) if pattern.search(self.lines[n - 1])]


def _locate(data: StrategyData, lines: _Lines) -> None:
    """Note where each action, each of its keys and each of its fundings are in the file."""
    actions = (action for axis in data.axes for action in axis.actions)
    for index, action in enumerate(actions):
        table = lines.table("axes.actions", index)
        if table is None:  # an action written as an inline table: no line known
            continue
        action.line, end, nested = table
        for key in ACTION_KEYS:
            found = lines.keys(key, action.line, end)
            if found:
                action.key_lines[key] = found[0]
        years = lines.keys("year", action.line, nested)
        if len(years) == len(action.fundings):
            action.fundings = [
                FundingData(f.year, f.funder, f.amount, line=year)
                for f, year in zip(action.fundings, years, strict=True)
            ]
