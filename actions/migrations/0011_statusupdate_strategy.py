"""Copy each status update's strategy onto it, for a per-strategy "latest updates" index."""

import django.db.models.deletion
from django.db import migrations, models


def fill_strategy(apps, schema_editor):
    """One UPDATE per strategy: each stays short, under the statement timeout of
    clspdr/settings.py, however long the whole history is."""
    StatusUpdate = apps.get_model("actions", "StatusUpdate")
    Strategy = apps.get_model("axes", "Strategy")
    for strategy_id in Strategy.objects.order_by("pk").values_list("pk", flat=True):
        StatusUpdate.objects.filter(action__axis__strategy_id=strategy_id).update(
            strategy_id=strategy_id
        )


class Migration(migrations.Migration):
    dependencies = [
        ("actions", "0010_sheetchange"),
        ("axes", "0003_default_ordering_own_columns"),
    ]

    operations = [
        migrations.AddField(
            model_name="statusupdate",
            name="strategy",
            # No constraint while it is filled: PostgreSQL would check every row updated
            # (and refuse the ALTER below with trigger events pending); it checks them all
            # at once when the constraint is added.
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,  # statusupdate_strategy_latest begins with it
                editable=False,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="axes.strategy",
            ),
        ),
        migrations.RunPython(fill_strategy, migrations.RunPython.noop, elidable=True),
        migrations.AlterField(
            model_name="statusupdate",
            name="strategy",
            field=models.ForeignKey(
                db_index=False,  # statusupdate_strategy_latest begins with it
                editable=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="axes.strategy",
            ),
        ),
        migrations.AddIndex(
            model_name="statusupdate",
            index=models.Index(
                fields=["strategy", "-created_at", "-id"], name="statusupdate_strategy_latest"
            ),
        ),
    ]
