"""Default orderings name the model's own columns: no query joins only to sort its rows.

An ordering across a relation ("axis__number", or a foreign key's name, which sorts by the
related model's own ordering) would join on every query that does not order explicitly, lists,
subqueries and prefetches included. Pages that need such an order ask for it
(`ActionQuerySet.in_plan_order`, the admin's `ordering`).
"""

from __future__ import annotations

import pytest
from django.apps import apps

PROJECT_APPS = ("clspdr", "axes", "governance", "actions", "observatory")


def _models():
    for label in PROJECT_APPS:
        yield from apps.get_app_config(label).get_models()


@pytest.mark.parametrize("model", list(_models()), ids=lambda model: model._meta.label)
def test_it_orders_each_model_by_its_own_columns(model):
    own_columns = {
        name
        for field in model._meta.concrete_fields
        for name in {field.attname, field.name}
        if not field.is_relation or name == field.attname
    } | {"pk"}
    for entry in model._meta.ordering:
        assert isinstance(entry, str), entry
        assert entry.removeprefix("-") in own_columns, f"{model._meta.label}: {entry}"
