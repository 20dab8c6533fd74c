"""Migrations that move data: 0006 names the through model of Action.contributors without
moving any data; 0007 keeps the reminders already sent as sent."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.db.models import ProtectedError

from actions.models import Action, ActionContributor, ReminderSent, ReminderStatus, StatusUpdate
from governance.models import Organisation

BEFORE = [("actions", "0005_plain_text_fields"), ("governance", "0002_plain_text_fields")]
NAMED = ("actions", "0006_carriers_protected_and_history")


@pytest.mark.django_db(transaction=True)  # SQLite's schema editor refuses an open transaction
def test_it_writes_no_sql_for_the_contributors_table():
    executor = MigrationExecutor(connection)
    migration = executor.loader.graph.nodes[NAMED]
    statements = executor.loader.collect_sql([(migration, False)])
    assert statements  # the carrier history table is created...
    assert not [s for s in statements if "actions_action_contributors" in s]  # ...nothing else


@pytest.mark.django_db(transaction=True)
def test_it_keeps_every_contributor_and_protects_them_after_the_migration():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    strategy = old.get_model("axes", "Strategy").objects.create(
        slug="s", title="S", town="T", start_year=2023, end_year=2027
    )
    axis = old.get_model("axes", "Axis").objects.create(strategy=strategy, number=1, title="A")
    landlord = old.get_model("governance", "Organisation").objects.create(name="Bailleur")
    action = old.get_model("actions", "Action").objects.create(axis=axis, number="1", title="X")
    action.contributors.add(landlord)

    executor = MigrationExecutor(connection)  # reloads the graph: every migration applies
    executor.migrate(executor.loader.graph.leaf_nodes())

    row = ActionContributor.objects.get()
    assert (row.action_id, row.organisation_id) == (action.pk, landlord.pk)
    assert list(Action.objects.get(pk=action.pk).contributors.all()) == [
        Organisation.objects.get(pk=landlord.pk)
    ]
    with pytest.raises(ProtectedError):
        Organisation.objects.get(pk=landlord.pk).delete()


REMINDERS_BEFORE = [("actions", "0006_carriers_protected_and_history")]


@pytest.mark.django_db(transaction=True)
def test_it_keeps_reminders_sent_before_the_status_column_as_sent():
    """Until migration 0007 a row existed only once its e-mail had gone: it must not be sent
    again when the weekly check learns to retry pending rows."""
    executor = MigrationExecutor(connection)
    executor.migrate(REMINDERS_BEFORE)
    old = executor.loader.project_state(REMINDERS_BEFORE).apps
    police = old.get_model("governance", "Organisation").objects.create(name="Police")
    row = old.get_model("actions", "ReminderSent").objects.create(
        organisation=police, week_start=datetime.date(2026, 3, 16), action_count=2
    )

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

    migrated = ReminderSent.objects.get(pk=row.pk)
    assert (migrated.status, migrated.attempts, migrated.action_count) == (
        ReminderStatus.SENT,
        1,
        2,
    )
    assert migrated.created_at == migrated.sent_at == row.sent_at
    assert ReminderSent._meta.get_field("status").default == ReminderStatus.PENDING


STRATEGY_BEFORE = [("actions", "0010_sheetchange")]


@pytest.mark.django_db(transaction=True)
def test_it_copies_each_status_updates_strategy_onto_it():
    """0011 fills StatusUpdate.strategy from the action's axis, for every existing update."""
    executor = MigrationExecutor(connection)
    executor.migrate(STRATEGY_BEFORE)
    old = executor.loader.project_state(STRATEGY_BEFORE).apps
    Strategy, Axis = old.get_model("axes", "Strategy"), old.get_model("axes", "Axis")
    Action = old.get_model("actions", "Action")
    author = old.get_model("clspdr", "User").objects.create(username="auteur")
    updates = {}
    for slug in ("manosque", "forcalquier"):
        strategy = Strategy.objects.create(
            slug=slug, title=slug, town=slug, start_year=2023, end_year=2027
        )
        axis = Axis.objects.create(strategy=strategy, number=1, title="A")
        action = Action.objects.create(axis=axis, number="1", title="X")
        update = old.get_model("actions", "StatusUpdate").objects.create(
            action=action,
            author=author,
            created_at=datetime.datetime(2026, 3, 1, tzinfo=datetime.UTC),
            previous_status="todo",
            previous_progress=0,
            status="in_progress",
            progress=10,
        )
        updates[update.pk] = strategy.pk

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

    assert dict(StatusUpdate.objects.values_list("pk", "strategy_id")) == updates
