"""`seed_demo`: one account per persona, memberships, carried actions, a consistent history."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from actions.models import Action, CarrierChange, Funding, Status, StatusUpdate
from axes.models import Strategy
from clspdr.demo import ADMIN_GROUP, DEFAULT_PASSWORD
from clspdr.models import Role, User
from governance.models import BodyKind, Membership, MembershipRole, OrganisationKind
from tests.conftest import PERSONAS

USERNAMES = [p for p in PERSONAS if p not in ("anonymous", "outsider")]


def seed(*args: str) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def debug(settings, monkeypatch):
    settings.DEBUG = True
    monkeypatch.delenv("DEMO_PASSWORD", raising=False)


@pytest.fixture
def demo(db, debug) -> str:
    return seed()


def users() -> dict[str, User]:
    return {u.username: u for u in User.objects.select_related("organisation")}


def bodies_of(username: str) -> set[tuple[str, int | None]]:
    memberships = Membership.objects.filter(user__username=username).select_related("body__axis")
    return {(m.body.kind, m.body.axis.number if m.body.axis else None) for m in memberships}


def codes(queryset) -> set[str]:
    return {action.code for action in queryset.select_related("axis")}


def test_it_refuses_to_run_without_debug(db, settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match=r"DEBUG est désactivé.*--force"):
        seed()
    assert not User.objects.exists()
    assert not Strategy.objects.exists()


def test_it_runs_without_debug_when_forced(db, settings, monkeypatch):
    settings.DEBUG = False
    monkeypatch.delenv("DEMO_PASSWORD", raising=False)
    seed("--force")
    assert User.objects.filter(username="coordination").exists()


def test_it_creates_one_account_per_persona_with_its_role(demo):
    accounts = users()
    assert set(accounts) == set(USERNAMES)
    roles = {name: user.role for name, user in accounts.items()}
    assert roles == {
        "coordination": Role.COORDINATOR,
        "police": Role.PARTNER,
        "education": Role.PARTNER,
        "bailleur": Role.PARTNER,
        "plenier": Role.MEMBER,
        "comite": Role.MEMBER,
        "veille": Role.PARTNER,
        "complexe": Role.PARTNER,
        "elu": Role.ELECTED,
        "admin": Role.ADMIN,
    }
    orgs = {name: u.organisation for name, u in accounts.items() if u.organisation}
    assert set(orgs) == set(USERNAMES)
    assert orgs["coordination"].name == "Ville de Manosque"
    assert orgs["police"].name == "Police nationale"
    assert orgs["education"].kind == OrganisationKind.EDUCATION
    assert orgs["bailleur"].kind == OrganisationKind.SOCIAL_LANDLORD
    assert orgs["complexe"].name == "Centre hospitalier de Manosque"
    assert orgs["veille"].kind == OrganisationKind.COMMUNE
    for user in accounts.values():
        assert user.first_name and user.last_name and user.job_title
        assert user.email == f"{user.username}@example.org"
        assert user.check_password(DEFAULT_PASSWORD)
        assert not user.is_superuser
        assert user.is_staff == (user.username == "admin")


def test_it_gives_the_admin_model_permissions_on_reference_data_only(demo):
    admin = User.objects.get(username="admin")
    assert list(admin.groups.values_list("name", flat=True)) == [ADMIN_GROUP]
    for perm in (
        "clspdr.add_user",
        "clspdr.change_user",
        "governance.change_organisation",
        "governance.add_body",
        "governance.delete_membership",
    ):
        assert admin.has_perm(perm), perm
    assert not admin.has_perm("actions.change_action")
    assert not admin.has_perm("actions.view_statusupdate")


def test_it_puts_each_persona_in_its_bodies(demo):
    plenary, committee = (BodyKind.PLENARY, None), (BodyKind.COMMITTEE, None)
    assert bodies_of("plenier") == {plenary}
    assert bodies_of("comite") == {plenary, committee}
    assert (BodyKind.WATCH_CELL, 1) in bodies_of("veille")
    assert (BodyKind.COMPLEX_CELL, 5) in bodies_of("complexe")
    # Cells are nominative: nobody else is in them.
    cell_members = Membership.objects.filter(
        body__kind__in=[BodyKind.WATCH_CELL, BodyKind.COMPLEX_CELL]
    )
    assert sorted(cell_members.values_list("user__username", flat=True)) == ["complexe", "veille"]
    assert bodies_of("admin") == set()
    chairs = Membership.objects.filter(role=MembershipRole.CHAIR)
    assert set(
        chairs.filter(body__kind=BodyKind.WORKING_GROUP).values_list("user__username", flat=True)
    ) == {"coordination"}
    assert chairs.filter(body__kind=BodyKind.WORKING_GROUP).count() == 5
    assert chairs.get(body__kind=BodyKind.PLENARY).user.username == "elu"
    for number in range(1, 6):
        group = Membership.objects.filter(
            body__kind=BodyKind.WORKING_GROUP, body__axis__number=number
        )
        partners = group.filter(user__role=Role.PARTNER)
        assert partners.exists(), f"working group of axis {number} has no partner"
    assert Membership.objects.active().count() == Membership.objects.count()


def test_it_gives_each_partner_actions_to_carry(demo):
    accounts = users()

    def carried(username: str) -> set[str]:
        return codes(Action.objects.carried_by(accounts[username].organisation_id))

    assert {"2.1", "3.1", "3.5"} <= carried("police")
    assert {"1.1", "1.2", "1.3"} <= carried("education")
    assert codes(Action.objects.filter(lead_organisation__short_name="H2P")) == {"3.3"}
    assert "3.5" in carried("bailleur")
    assert carried("veille") and carried("complexe")
    assert not Action.objects.filter(lead_organisation__isnull=True).exists()


def test_it_records_the_naming_of_the_carriers_before_the_history(demo):
    changes = list(CarrierChange.objects.select_related("author"))
    assert len(changes) == Action.objects.exclude(lead_organisation=None).count()
    assert {change.author.username for change in changes} == {"coordination"}
    assert all(change.previous_lead == "" and change.lead for change in changes)
    first_update = StatusUpdate.objects.order_by("created_at").first()
    assert first_update is not None
    assert max(change.created_at for change in changes) < first_update.created_at


def test_it_fills_a_few_complete_sheets(demo):
    action = Action.objects.get(axis__number=2, number="1")
    assert action.target_public and action.objectives and action.indicators and action.means
    assert action.priority == "high"
    assert action.start_date and action.end_date
    assert (action.start_date.year, action.end_date.year) == (2023, 2027)
    assert set(action.fundings.values_list("year", flat=True)) == {2023, 2024, 2025, 2026}
    assert Action.objects.exclude(target_public="").count() >= 5


def test_it_keeps_a_history_consistent_with_each_action(demo):
    actions = Action.objects.prefetch_related("updates").select_related("axis")
    never_updated = []
    for action in actions:
        updates = sorted(action.updates.all(), key=lambda u: (u.created_at, u.pk))
        if not updates:
            never_updated.append(action.code)
            assert (action.status, action.progress, action.last_update_at) == (Status.TODO, 0, None)
            continue
        latest = updates[-1]
        assert (action.status, action.progress) == (latest.status, latest.progress), action.code
        assert action.last_update_at == latest.created_at
        before: tuple[str, int] = (Status.TODO, 0)
        for update in updates:
            assert (update.previous_status, update.previous_progress) == before
            before = (update.status, update.progress)
    assert len(never_updated) >= 3
    years = {update.created_at.year for update in StatusUpdate.objects.all()}
    assert years == {2023, 2024, 2025, 2026}
    assert not StatusUpdate.objects.filter(status=Status.DONE).exclude(progress=100).exists()
    assert StatusUpdate.objects.filter(status=Status.POSTPONED).exists()


def test_it_records_updates_only_by_people_who_may_make_them(demo):
    for update in StatusUpdate.objects.select_related("author", "action"):
        if update.author.role == Role.COORDINATOR:
            continue
        carried = Action.objects.carried_by(update.author.organisation_id)
        assert carried.filter(pk=update.action_id).exists()
        assert update.author_organisation_id == update.author.organisation_id


def test_it_loads_the_strategy_when_it_is_missing(demo):
    assert "chargée (elle manquait)" in demo
    assert Strategy.objects.get().slug == "manosque-2023-2027"


def test_it_uses_the_strategy_already_loaded(db, debug):
    call_command("load_strategy", stdout=StringIO())
    output = seed()
    assert "manquait" not in output
    assert Strategy.objects.count() == 1


def test_it_creates_nothing_the_second_time(demo):
    models = (User, Membership, StatusUpdate, Funding, Action)
    before = {model: model.objects.count() for model in models}
    versions = dict(Action.objects.values_list("pk", "version"))

    output = seed()

    assert "déjà chargée" in output
    assert {model: model.objects.count() for model in models} == before
    assert dict(Action.objects.values_list("pk", "version")) == versions
    for username in USERNAMES:
        assert username in output


def test_it_prints_the_accounts_and_where_the_password_comes_from(demo):
    for username in USERNAMES:
        assert username in demo
    assert "Centre hospitalier de Manosque" in demo
    assert f"« {DEFAULT_PASSWORD} »" in demo
    assert "DEMO_PASSWORD" in demo


def test_it_takes_the_password_from_the_environment(db, debug, monkeypatch):
    monkeypatch.setenv("DEMO_PASSWORD", "un-autre-mot-de-passe")
    output = seed()
    assert User.objects.get(username="police").check_password("un-autre-mot-de-passe")
    assert "un-autre-mot-de-passe" not in output
    assert "variable d'environnement DEMO_PASSWORD" in output


def test_it_refuses_a_short_password(db, debug, monkeypatch):
    monkeypatch.setenv("DEMO_PASSWORD", "court")
    with pytest.raises(CommandError, match="au moins 12 caractères"):
        seed()
    assert not User.objects.exists()
