"""Load a local strategy from its data file (TOML), described in docs/strategy-file-format.md.

Two steps: `parse_strategy_file` (actions/strategy_file.py) reads the whole file and checks its
form, then `strategy_load` creates, inside one transaction, what the database does not hold
yet. Actions and their budgets are created through the services (`action_create`,
`funding_create`), under the rules of the sheet editor; their refusals are collected with their
line in the file, and a file with any error writes nothing.

Loading only ever creates: a row found by its natural key is left as it is, because a partner
or the coordinator may have edited it since the last load.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q

from actions.models import Action, SubAction, SubList
from actions.services import (
    SHEET_FIELDS,
    FundingLine,
    action_create,
    funding_create,
    funding_errors,
)
from actions.strategy_file import (
    ACTION_KEYS,
    DEFAULT_STRATEGY_FILE,
    FILE_KEYS,
    ActionData,
    AxisData,
    OrganisationData,
    StrategyData,
    StrategyFileError,
    SubListData,
    parse_strategy,
    parse_strategy_file,
)
from axes.models import Axis, Strategy
from governance.models import Body, Organisation

__all__ = [
    "DEFAULT_STRATEGY_FILE",
    "LoadReport",
    "StrategyFileError",
    "parse_strategy",
    "parse_strategy_file",
    "strategy_load",
]


# --- Loading ---------------------------------------------------------------------------------

_COUNTED = (
    # key, label, feminine
    ("strategy", "stratégie", True),
    ("organisations", "organisations", True),
    ("axes", "axes", False),
    ("actions", "actions", True),
    ("sublists", "listes de sous-actions", True),
    ("subactions", "sous-actions", True),
    ("fundings", "financements", False),
    ("bodies", "instances", True),
)


def _count(n: int, word: str, feminine: bool) -> str:
    return f"{n} {word}{'e' if feminine else ''}{'s' if n > 1 else ''}"


@dataclass
class LoadReport:
    strategy: Strategy
    created: Counter[str] = field(default_factory=Counter)
    existing: Counter[str] = field(default_factory=Counter)

    @property
    def total_created(self) -> int:
        return sum(self.created.values())

    def lines(self) -> list[str]:
        """The summary in French, one line per kind of row and a total."""
        lines = [f"Stratégie « {self.strategy.title} » ({self.strategy.slug})"]
        for key, label, feminine in _COUNTED:
            created, existing = self.created[key], self.existing[key]
            if not (created or existing):
                continue
            lines.append(
                f"  {label} : {_count(created, 'créé', feminine)}, "
                f"{_count(existing, 'déjà présent', feminine)}"
            )
        total_existing = sum(self.existing.values())
        lines.append(
            f"Total : {_count(self.total_created, 'créé', False)}, "
            f"{_count(total_existing, 'déjà présent', False)}."
        )
        return lines


class _Loader:
    def __init__(self, data: StrategyData) -> None:
        self.data = data
        self.organisations: dict[str, Organisation] = {}
        self.report: LoadReport
        self.errors: list[str] = []

    def keep(self, key: str, created: bool) -> None:
        (self.report.created if created else self.report.existing)[key] += 1

    def run(self) -> LoadReport:
        references = self._resolve_references()
        strategy, created = Strategy.objects.get_or_create(
            slug=self.data.slug,
            defaults={
                "title": self.data.title,
                "town": self.data.town,
                "start_year": self.data.start_year,
                "end_year": self.data.end_year,
                "preamble": self.data.preamble,
                "conclusion": self.data.conclusion,
            },
        )
        self.report = LoadReport(strategy=strategy)
        self.keep("strategy", created)
        for org in self.data.organisations:
            self.keep("organisations", self._organisation(org)[1])
        self.organisations.update(references)
        axes = {axis.number: self._axis(strategy, axis) for axis in self.data.axes}
        for body in self.data.bodies:
            _, created = Body.objects.get_or_create(
                strategy=strategy,
                kind=body.kind,
                axis=axes[body.axis] if body.axis else None,
                defaults={
                    "name": body.name,
                    "cadence": body.cadence,
                    "description": body.description,
                },
            )
            self.keep("bodies", created)
        if self.errors:
            raise StrategyFileError(self.errors)
        return self.report

    def _organisation(self, org: OrganisationData) -> tuple[Organisation, bool]:
        instance, created = Organisation.objects.get_or_create(
            name=org.name, defaults={"short_name": org.short_name, "kind": org.kind}
        )
        self.organisations[org.name] = instance
        if org.short_name:
            self.organisations.setdefault(org.short_name, instance)
        return instance, created

    def _resolve_references(self) -> dict[str, Organisation]:
        """Find in the database the organisations referenced but not declared in the file.

        Runs before any write: an unknown or ambiguous reference aborts the load.
        """
        names = {
            label: o.name
            for o in self.data.organisations
            for label in (o.name, o.short_name)
            if label
        }
        found: dict[str, Organisation] = {}
        errors = []
        for axis in self.data.axes:
            for action in axis.actions:
                place = f"axe {axis.number}, action {action.number}"
                for reference in filter(None, [action.lead, *action.contributors]):
                    if reference not in names:
                        errors.extend(self._find(reference, place, found, names))
        if errors:
            raise StrategyFileError(errors)
        return found

    @staticmethod
    def _find(
        reference: str, place: str, found: dict[str, Organisation], names: dict[str, str]
    ) -> list[str]:
        matches = list(Organisation.objects.filter(Q(name=reference) | Q(short_name=reference))[:2])
        if not matches:
            return [f"{place} : organisation « {reference} » inconnue"]
        if len(matches) > 1:
            return [f"{place} : « {reference} » désigne plusieurs organisations, donner le nom"]
        found[reference] = matches[0]
        names[reference] = matches[0].name
        return []

    def _axis(self, strategy: Strategy, data: AxisData) -> Axis:
        axis, created = Axis.objects.get_or_create(
            strategy=strategy,
            number=data.number,
            defaults={
                "title": data.title,
                "priority_issue": data.priority_issue,
                "description": data.description,
            },
        )
        self.keep("axes", created)
        for action in data.actions:
            self._action(axis, action)
        return axis

    def _action(self, axis: Axis, data: ActionData) -> None:
        action = Action.objects.filter(axis=axis, number=data.number).first()
        self.keep("actions", action is None)
        # The sheet (partners, funding) belongs to the action: written only when it is created.
        if action is None:
            action = self._create_action(axis, data)
            lines = [FundingLine(f.year, f.funder, f.amount) for f in data.fundings]
            for index, funding in enumerate(data.fundings):
                place = f"axe {axis.number}, action {data.number}, financement {index + 1}"
                self._funding(action, lines[: index + 1], place, funding.line or data.line)
        if action is not None:
            for sublist in data.sublists:
                self._sublist(action, sublist)

    def _create_action(self, axis: Axis, data: ActionData) -> Action | None:
        """The action through the service, or None after noting why the service refused it."""
        sheet = {name: getattr(data, name, None) for name in SHEET_FIELDS}
        sheet["lead_organisation"] = self.organisations[data.lead] if data.lead else None
        action = Action(axis=axis, number=data.number, position=data.position, **sheet)
        try:
            return action_create(
                action=action,
                by=None,
                contributors=[self.organisations[ref] for ref in data.contributors],
            )
        except ValidationError as error:
            place = f"axe {axis.number}, action {data.number}"
            for name, messages in _messages(error):
                key = FILE_KEYS.get(name, name)
                where = f"{place}, champ « {key} »" if key in ACTION_KEYS else place
                self._refused(where, data.line_of(key), messages)
            return None

    def _funding(
        self,
        action: Action | None,
        lines: list[FundingLine],
        place: str,
        line_number: int | None,
    ) -> None:
        """The last of `lines`, through the service; the others come before it in the file."""
        *earlier, line = lines
        try:
            if action is None:  # refused: its budget's rows are still checked
                if errors := funding_errors(line, earlier=earlier):
                    raise ValidationError(errors)
            else:
                funding_create(action=action, by=None, line=line)
                self.keep("fundings", True)
        except ValidationError as error:
            messages = [m for _, ms in _messages(error) for m in ms]
            self._refused(place, line_number, messages)

    def _refused(self, place: str, line: int | None, messages: list[str]) -> None:
        where = f"{place} (ligne {line})" if line else place
        self.errors.extend(f"{where} : {message}" for message in messages)

    def _sublist(self, action: Action, data: SubListData) -> None:
        sublist, created = SubList.objects.get_or_create(
            action=action,
            title=data.title,
            defaults={"position": data.position, "intro": data.intro},
        )
        self.keep("sublists", created)
        for item in data.items:
            _, created = SubAction.objects.get_or_create(
                sublist=sublist,
                title=item.title,
                defaults={
                    "position": item.position,
                    "number": item.number,
                    "description": item.description,
                },
            )
            self.keep("subactions", created)


def _messages(error: ValidationError) -> list[tuple[str, list[str]]]:
    if hasattr(error, "error_dict"):
        return list(error.message_dict.items())
    return [("", error.messages)]


def strategy_load(*, data: StrategyData) -> LoadReport:
    """Create the rows of `data` that do not exist yet; never change an existing row.

    Atomic: an unresolvable organisation reference raises StrategyFileError before any write;
    a sheet the services refuse raises it once every action has been tried, and the
    transaction writes nothing.
    """
    with transaction.atomic():
        return _Loader(data).run()
