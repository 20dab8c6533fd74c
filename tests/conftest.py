"""Personas (docs/architecture.md): one account per kind of person, in a small but complete world.

`world` builds a strategy with two axes and three actions, the governance bodies and the
organisations; `personas` maps a persona name to its user (None for anonymous). Every
persona of the access matrix is listed in PERSONAS.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from actions.models import Action
from axes.models import Axis, Strategy
from clspdr.celery import app as celery_app
from clspdr.demo import grant_admin_permissions
from clspdr.models import Role, User
from governance.models import Body, BodyKind, Cadence, Organisation, OrganisationKind
from tests.factories import (
    PASSWORD,
    ActionFactory,
    AxisFactory,
    BodyFactory,
    MembershipFactory,
    OrganisationFactory,
    StrategyFactory,
    UserFactory,
)

PERSONAS = (
    "anonymous",
    "outsider",
    "coordination",
    "police",
    "education",
    "bailleur",
    "plenier",
    "comite",
    "veille",
    "complexe",
    "elu",
    "admin",
)


@dataclass
class World:
    strategy: Strategy
    axes: list[Axis]
    actions: dict[str, Action]
    organisations: dict[str, Organisation]
    bodies: dict[str, Body]
    users: dict[str, User | None] = field(default_factory=dict)


# Variables the project reads at run time outside its settings (`seed_demo`): the tests state
# what they need instead of inheriting whatever the caller's shell exports.
RUNTIME_VARIABLES = ("DEMO_PASSWORD",)


@pytest.fixture(autouse=True)
def _own_environment(monkeypatch):
    for name in RUNTIME_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings):
    """Argon2 is deliberately slow; tests about hashing restore it themselves."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def celery_eager() -> Iterator[None]:
    """Tasks enqueued by the code under test run in this process, also when REDIS_URL is set:
    unit tests of a task's logic must not leave messages in a real broker. The real worker is
    tested apart (tests/worker.py)."""
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous


@pytest.fixture
def world(db) -> World:
    strategy = StrategyFactory()
    axis1 = AxisFactory(strategy=strategy, number=1, title="Agir au plus tôt")
    axis3 = AxisFactory(strategy=strategy, number=3, title="Tranquillité publique")
    orgs = {
        "police": OrganisationFactory(name="Police nationale", kind=OrganisationKind.POLICE),
        "college": OrganisationFactory(name="Collège Jean Giono", kind=OrganisationKind.EDUCATION),
        "bailleur": OrganisationFactory(
            name="Habitations de Haute-Provence", kind=OrganisationKind.SOCIAL_LANDLORD
        ),
        "ville": OrganisationFactory(name="Ville de Manosque", kind=OrganisationKind.COMMUNE),
        "prefecture": OrganisationFactory(name="Préfecture", kind=OrganisationKind.STATE),
        "hopital": OrganisationFactory(name="Centre hospitalier", kind=OrganisationKind.HEALTH),
    }
    actions = {
        # led by the police, the college contributes
        "police_led": ActionFactory(axis=axis3, number="1", lead_organisation=orgs["police"]),
        # led by the college
        "college_led": ActionFactory(axis=axis1, number="1", lead_organisation=orgs["college"]),
        # led by the town, the landlord contributes
        "ville_led": ActionFactory(axis=axis3, number="5", lead_organisation=orgs["ville"]),
    }
    actions["police_led"].contributors.add(orgs["college"])
    actions["ville_led"].contributors.add(orgs["bailleur"])
    bodies = {
        "plenary": BodyFactory(strategy=strategy, kind=BodyKind.PLENARY),
        "committee": BodyFactory(strategy=strategy, kind=BodyKind.COMMITTEE),
        "watch_cell": BodyFactory(
            strategy=strategy, kind=BodyKind.WATCH_CELL, axis=axis1, cadence=Cadence.BIMONTHLY
        ),
        "complex_cell": BodyFactory(
            strategy=strategy, kind=BodyKind.COMPLEX_CELL, cadence=Cadence.AS_NEEDED
        ),
    }
    return World(strategy, [axis1, axis3], actions, orgs, bodies)


@pytest.fixture
def personas(world: World) -> dict[str, User | None]:
    o, b = world.organisations, world.bodies
    users: dict[str, User | None] = {
        "anonymous": None,
        "outsider": UserFactory(username="outsider"),
        "coordination": UserFactory(
            username="coordination", role=Role.COORDINATOR, organisation=o["ville"]
        ),
        "police": UserFactory(username="police", role=Role.PARTNER, organisation=o["police"]),
        "education": UserFactory(
            username="education", role=Role.PARTNER, organisation=o["college"]
        ),
        "bailleur": UserFactory(username="bailleur", role=Role.PARTNER, organisation=o["bailleur"]),
        "plenier": UserFactory(username="plenier", organisation=o["prefecture"]),
        "comite": UserFactory(username="comite", organisation=o["prefecture"]),
        "veille": UserFactory(username="veille", role=Role.PARTNER, organisation=o["ville"]),
        "complexe": UserFactory(username="complexe", role=Role.PARTNER, organisation=o["hopital"]),
        "elu": UserFactory(username="elu", role=Role.ELECTED, organisation=o["ville"]),
        "admin": UserFactory(username="admin", role=Role.ADMIN, is_staff=True),
    }
    # the technical administrator of the demo: staff, with its group's model permissions
    grant_admin_permissions(users["admin"])
    MembershipFactory(body=b["plenary"], user=users["plenier"])
    MembershipFactory(body=b["plenary"], user=users["comite"])
    MembershipFactory(body=b["committee"], user=users["comite"])
    MembershipFactory(body=b["watch_cell"], user=users["veille"])
    MembershipFactory(body=b["complex_cell"], user=users["complexe"])
    world.users = users
    return users


@pytest.fixture
def login(client):
    """`login(user)` logs the test client in (no-op for anonymous) and returns it."""

    def _login(user: User | None):
        if user is not None:
            client.force_login(user)
        return client

    return _login


@pytest.fixture
def password() -> str:
    return PASSWORD
