# A reminder row is now claimed before its e-mail goes out and marked sent afterwards.
# Rows written before this migration were only ever written once the e-mail had been sent:
# they become "sent", after one attempt, created when they were sent.

import django.utils.timezone
from django.db import migrations, models


def _created_when_sent(apps, schema_editor):
    ReminderSent = apps.get_model("actions", "ReminderSent")
    ReminderSent.objects.update(created_at=models.F("sent_at"))


class Migration(migrations.Migration):

    dependencies = [
        ('actions', '0006_carriers_protected_and_history'),
    ]

    operations = [
        migrations.AlterModelOptions(
            name='remindersent',
            options={'ordering': ['-week_start', 'organisation'], 'verbose_name': 'relance hebdomadaire', 'verbose_name_plural': 'relances hebdomadaires'},
        ),
        migrations.AlterField(
            model_name='remindersent',
            name='sent_at',
            field=models.DateTimeField(blank=True, null=True, verbose_name='envoyée le'),
        ),
        migrations.AddField(
            model_name='remindersent',
            name='created_at',
            field=models.DateTimeField(auto_now_add=True, default=django.utils.timezone.now, verbose_name='créée le'),
            preserve_default=False,
        ),
        migrations.RunPython(_created_when_sent, migrations.RunPython.noop),
        migrations.AddField(
            model_name='remindersent',
            name='status',
            field=models.CharField(choices=[('pending', 'à envoyer'), ('sending', 'envoi en cours'), ('sent', 'envoyée'), ('failed', 'abandonnée après échecs')], default='sent', max_length=10, verbose_name='état'),
        ),
        migrations.AlterField(
            model_name='remindersent',
            name='status',
            field=models.CharField(choices=[('pending', 'à envoyer'), ('sending', 'envoi en cours'), ('sent', 'envoyée'), ('failed', 'abandonnée après échecs')], default='pending', max_length=10, verbose_name='état'),
        ),
        migrations.AddField(
            model_name='remindersent',
            name='attempts',
            field=models.PositiveSmallIntegerField(default=1, verbose_name='tentatives'),
        ),
        migrations.AlterField(
            model_name='remindersent',
            name='attempts',
            field=models.PositiveSmallIntegerField(default=0, verbose_name='tentatives'),
        ),
        migrations.AddField(
            model_name='remindersent',
            name='task_id',
            field=models.CharField(blank=True, max_length=64),
        ),
        migrations.AddField(
            model_name='remindersent',
            name='locked_until',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='remindersent',
            name='last_error',
            field=models.CharField(blank=True, max_length=300, verbose_name='dernière erreur'),
        ),
    ]
