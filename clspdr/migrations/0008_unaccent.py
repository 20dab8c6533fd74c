"""PostgreSQL's `unaccent` extension, for the accent-insensitive search (clspdr/search.py).

A no-op on SQLite. `unaccent` is a trusted extension: the database's owner may create it
without being a superuser.
"""

from django.contrib.postgres.operations import UnaccentExtension
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("clspdr", "0007_heartbeat")]

    operations = [UnaccentExtension()]
