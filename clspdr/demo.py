"""Demonstration data: one account per persona, who carries which action, a few filled sheets
and a history of status updates, read from `actions/data/manosque-2023-2027-demo.toml`.

Everything goes through the services a person would use (the strategy loader's
`action_create`, `action_edit_sheet`, `action_update_status`), so the demo obeys the same rules
as real use. Used by
`python manage.py seed_demo`.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from actions.loader import DEFAULT_STRATEGY_FILE, parse_strategy_file, strategy_load
from actions.models import Action
from actions.services import SHEET_FIELDS, FundingLine, action_edit_sheet, action_update_status
from axes.models import Strategy
from clspdr.accounts import user_create
from clspdr.models import User
from governance.models import Body, Membership, Organisation

DEMO_FILE = DEFAULT_STRATEGY_FILE.with_name("manosque-2023-2027-demo.toml")
DEFAULT_PASSWORD = "clspdr-demo-2026"
ADMIN_GROUP = "Administrateurs techniques"
# Django model permissions of the technical administrators: accounts and reference data only,
# nothing of the cells. What they may do with these models is narrowed further in the admin
# (clspdr/accounts.py, governance/admin.py): no privileged account, no cell membership.
ADMIN_MODELS = (
    ("clspdr", "user"),
    ("governance", "organisation"),
    ("governance", "body"),
    ("governance", "membership"),
)
FIRST_PERSONA = "coordination"
PARIS = ZoneInfo("Europe/Paris")


@dataclass(frozen=True)
class DemoResult:
    created: bool
    strategy_loaded: bool  # the strategy was missing and had to be loaded first
    accounts: list[tuple[str, str, str]]  # (username, persona, organisation)


def read_demo(path: Path = DEMO_FILE) -> dict[str, Any]:
    with path.open("rb") as file:
        return tomllib.load(file)


def demo_accounts(demo: dict[str, Any] | None = None) -> list[tuple[str, str, str]]:
    """The demo accounts that exist, in persona order."""
    personas = (demo or read_demo())["personas"]
    users = User.objects.filter(username__in=[p["username"] for p in personas])
    by_name = {user.username: user for user in users.select_related("organisation")}
    return [
        (p["username"], p["label"], str(by_name[p["username"]].organisation or ""))
        for p in personas
        if p["username"] in by_name
    ]


def demo_seed(*, password: str, path: Path = DEMO_FILE) -> DemoResult:
    """Create the demo, loading the strategy first if missing; do nothing if it exists."""
    demo = read_demo(path)
    if User.objects.filter(username=FIRST_PERSONA).exists():
        return DemoResult(created=False, strategy_loaded=False, accounts=demo_accounts(demo))
    with transaction.atomic():
        strategy = Strategy.objects.filter(slug=demo["strategy"]).first()
        strategy_loaded = strategy is None
        if strategy is None:
            strategy = strategy_load(data=parse_strategy_file(DEFAULT_STRATEGY_FILE)).strategy
        users = {p["username"]: _create_user(p, password) for p in demo["personas"]}
        _add_memberships(strategy, demo, users)
        actions = {
            a.code: a
            for a in Action.objects.filter(axis__strategy=strategy).select_related("axis__strategy")
        }
        # The carriers are named when the council sets up, before any status update.
        since = datetime.combine(demo["members_since"], time(9), tzinfo=PARIS)
        _fill_sheets(actions, demo, by=users[FIRST_PERSONA], at=since)
        _write_history(actions, demo["history"], users)
    return DemoResult(created=True, strategy_loaded=strategy_loaded, accounts=demo_accounts(demo))


def _organisation(reference: str) -> Organisation:
    return Organisation.objects.get(Q(name=reference) | Q(short_name=reference))


def _create_user(persona: dict[str, Any], password: str) -> User:
    # by=None: a command, trusted to create privileged accounts; the trail says "Système".
    user = user_create(
        by=None,
        username=persona["username"],
        email=f"{persona['username']}@example.org",
        password=password,
        first_name=persona["first_name"],
        last_name=persona["last_name"],
        job_title=persona["job_title"],
        role=persona["role"],
        organisation=_organisation(persona["organisation"]),
        is_staff=persona.get("is_staff", False),
    )
    if user.is_staff:
        grant_admin_permissions(user)
    return user


def grant_admin_permissions(user: User) -> None:
    """The demo's technical administrators: accounts and reference data (ADMIN_MODELS)."""
    group, _ = Group.objects.get_or_create(name=ADMIN_GROUP)
    models = Q()
    for app_label, model in ADMIN_MODELS:
        models |= Q(content_type__app_label=app_label, content_type__model=model)
    group.permissions.add(*Permission.objects.filter(models))
    user.groups.add(group)


def _body(strategy: Strategy, key: str) -> Body:
    """ "plenary" is the strategy's plenary, "working_group:2" the working group of axis 2."""
    kind, _, axis = key.partition(":")
    bodies = strategy.bodies.filter(kind=kind)
    return bodies.get(axis__number=int(axis)) if axis else bodies.get()


def _add_memberships(strategy: Strategy, demo: dict[str, Any], users: dict[str, User]) -> None:
    since: date = demo["members_since"]
    Membership.objects.bulk_create(
        Membership(
            body=_body(strategy, key), user=users[p["username"]], role=role, start_date=since
        )
        for p in demo["personas"]
        for key, role in p.get("bodies", {}).items()
    )


def _fill_sheets(
    actions: dict[str, Action], demo: dict[str, Any], *, by: User, at: datetime
) -> None:
    """The coordinator names who carries each action and completes a few sheets."""
    for code, carriers in demo["carriers"].items():
        action = actions[code]
        sheet = demo["sheets"].get(code, {})
        fundings = [
            FundingLine(year=f["year"], funder=f["funder"], amount=Decimal(str(f["amount"])))
            for f in sheet.get("fundings", [])
        ]
        action_edit_sheet(
            action=action,
            by=by,
            data={
                "lead_organisation": _organisation(carriers["lead"]),
                **{key: sheet[key] for key in SHEET_FIELDS if key in sheet},
            },
            contributors=[_organisation(ref) for ref in carriers["contributors"]],
            fundings=fundings or None,
            expected_version=action.version,
            at=min(at, timezone.now()),
        )


def _write_history(
    actions: dict[str, Action], history: dict[str, list[list[Any]]], users: dict[str, User]
) -> None:
    now = timezone.now()
    for code, updates in history.items():
        action = actions[code]
        for day, username, status, progress, comment in updates:
            at = datetime.combine(day, time(12), tzinfo=PARIS)
            if at > now:  # a demo loaded before one of these days shows no future
                break
            action_update_status(
                action=action,
                by=users[username],
                status=status,
                progress=progress,
                comment=comment,
                expected_version=action.version,
                at=at,
            )
