"""The audit trail (clspdr/audit.py) and the page where the coordinator and the DPO read it.

Append-only: the application never updates or deletes an event, PostgreSQL refuses it too
(trigger), and an account with history is deactivated, never deleted (PROTECT).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib import admin
from django.db import DatabaseError, connection, transaction
from django.db.models import ProtectedError
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from clspdr import audit
from clspdr.accounts import user_change_access
from clspdr.models import AuditEvent, Role, User
from tests.factories import UserFactory

JOURNAL = reverse("journal")


@pytest.fixture
def superuser(db) -> User:
    return UserFactory.create(username="racine", is_superuser=True, is_staff=True)


def test_it_raises_on_an_unknown_action_name(personas):
    with pytest.raises(audit.UnknownAuditAction):
        audit.log_action("account.rol_changed", actor=None, target=personas["police"])
    assert not AuditEvent.objects.exists()


def test_it_records_who_whom_what_and_when(personas, world):
    police, admin_user = personas["police"], personas["admin"]
    event = audit.log_action(
        "account.organisation_changed",
        actor=admin_user,
        target=police,
        changes={"organisation": (world.organisations["police"], world.organisations["ville"])},
    )
    event = AuditEvent.objects.get(pk=event.pk)
    assert (event.actor, event.target_user, event.target_type, event.target_id) == (
        admin_user,
        police,
        "clspdr.user",
        str(police.pk),
    )
    assert event.actor_label == f"{admin_user} (admin)"
    assert event.changes["organisation"]["before_label"] == "Police nationale"
    assert abs(event.at - datetime.now(UTC)) < timedelta(seconds=5)


def test_it_never_updates_or_deletes_an_event_from_the_app(personas):
    event = audit.log_action("account.active_changed", actor=None, target=personas["police"])
    with pytest.raises(audit.AppendOnly):
        event.save()
    with pytest.raises(audit.AppendOnly):
        event.delete()
    with pytest.raises(audit.AppendOnly):
        AuditEvent.objects.filter(pk=event.pk).update(action="account.created")
    with pytest.raises(audit.AppendOnly):
        AuditEvent.objects.filter(pk=event.pk).delete()
    assert AuditEvent.objects.get(pk=event.pk).action == "account.active_changed"


def test_it_keeps_accounts_that_have_history(personas, superuser):
    police = personas["police"]
    user_change_access(user=police, by=superuser, is_active=False)
    with pytest.raises(ProtectedError):
        police.delete()
    with pytest.raises(ProtectedError):
        superuser.delete()  # the actor too


@pytest.mark.django_db(transaction=True)
def test_it_rejects_update_and_delete_in_postgresql(world, personas):
    """T-15: even raw SQL cannot rewrite the trail; TRUNCATE (test flush) still works."""
    if connection.vendor != "postgresql":
        pytest.skip("a PostgreSQL trigger: run with DATABASE_URL=postgres://…")
    event = audit.log_action("account.active_changed", actor=None, target=personas["police"])
    for sql in (
        "UPDATE clspdr_auditevent SET action = 'account.created' WHERE id = %s",
        "DELETE FROM clspdr_auditevent WHERE id = %s",
    ):
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql, [event.pk])
    assert AuditEvent.objects.get(pk=event.pk).action == "account.active_changed"
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE clspdr_auditevent")
    assert not AuditEvent.objects.exists()


def test_it_is_not_in_the_admin():
    assert AuditEvent not in admin.site._registry


# --- The journal page ---------------------------------------------------------------------


def test_it_shows_the_journal_to_the_coordinator(login, personas, superuser):
    police = personas["police"]
    user_change_access(user=police, by=superuser, role=Role.ELECTED)
    response = login(personas["coordination"]).get(JOURNAL)
    assert response.status_code == 200
    html = response.content.decode()
    assert "<h1>Journal des modifications de comptes</h1>" in html
    assert str(police) in html and str(superuser) in html
    assert "Référent partenaire → Élu" in html


def test_it_shows_the_journal_to_the_dpo(login, world):
    """The DPO is no persona of the access matrix (tests/conftest.py): tested here."""
    dpo = UserFactory(username="dpd", role=Role.DPO)
    assert login(dpo).get(JOURNAL).status_code == 200


@pytest.mark.parametrize("persona", ["admin", "police", "elu", "plenier", "outsider"])
def test_it_refuses_the_journal_to_everyone_else(login, personas, persona):
    assert login(personas[persona]).get(JOURNAL).status_code == 403


def test_it_refuses_the_journal_to_an_inactive_dpo(client, world):
    dpo = UserFactory(username="dpd", role=Role.DPO, is_active=False)
    client.force_login(dpo)
    assert client.get(JOURNAL).status_code in (302, 403)


def _event_at(at: datetime, target: User, actor: User | None = None) -> AuditEvent:
    return AuditEvent.objects.create(
        at=at,
        action="account.role_changed",
        actor=actor,
        actor_label=str(actor) if actor else "Système",
        target_type="clspdr.user",
        target_id=str(target.pk),
        target_user=target,
        target_label=str(target),
        changes={
            "role": {
                "label": "rôle",
                "before": "member",
                "after": "partner",
                "before_label": "Membre d'instance",
                "after_label": "Référent partenaire",
            }
        },
    )


def test_it_writes_the_date_in_french(login, personas):
    # 13:05 UTC is 14:05 in Paris in November
    _event_at(datetime(2026, 11, 29, 13, 5, tzinfo=UTC), personas["police"])
    _event_at(datetime(2026, 12, 1, 8, 0, tzinfo=UTC), personas["police"])
    html = login(personas["coordination"]).get(JOURNAL).content.decode()
    assert "29 novembre 2026 à 14:05" in html
    assert "1er décembre 2026 à 09:00" in html
    assert 'datetime="2026-11-29T13:05:00+00:00"' in html or "2026-11-29T14:05" in html


def test_it_lists_the_newest_first_and_paginates(login, personas):
    start = datetime(2026, 1, 1, 12, tzinfo=UTC)
    for day in range(55):
        _event_at(start + timedelta(days=day), personas["police"])
    client = login(personas["coordination"])
    first = client.get(JOURNAL).content.decode()
    assert first.index("24 février 2026") < first.index("23 février 2026")
    assert "1er janvier 2026" not in first
    assert "Page 1 sur 2" in first
    second = client.get(JOURNAL, {"page": 2}).content.decode()
    assert "1er janvier 2026" in second


def test_it_runs_the_same_queries_for_1_and_50_events(
    login, personas, django_assert_max_num_queries
):
    client = login(personas["coordination"])
    start = datetime(2026, 1, 1, 12, tzinfo=UTC)
    _event_at(start, personas["police"], actor=personas["admin"])
    with CaptureQueriesContext(connection) as one:
        assert client.get(JOURNAL).status_code == 200
    for day in range(1, 50):
        _event_at(start + timedelta(days=day), personas["police"], actor=personas["admin"])
    with django_assert_max_num_queries(len(one)):
        response = client.get(JOURNAL)
    assert response.content.decode().count("<tr ") == 51  # the header and 50 rows
    # the session and the person (with the header's organisation), then the page: a count and
    # one query for the rows, whose labels are stored with them (no join)
    assert len(one) <= 8
