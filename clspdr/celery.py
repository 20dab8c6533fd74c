"""Celery wired the standard way: settings under the CELERY_ namespace, tasks autodiscovered."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clspdr.settings")

app = Celery("clspdr")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
