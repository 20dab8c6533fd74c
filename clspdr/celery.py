"""Celery wired the standard way: settings under the CELERY_ namespace, tasks autodiscovered."""

import os
from typing import Any

from celery import Celery
from celery.signals import setup_logging

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clspdr.settings")

app = Celery("clspdr")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@setup_logging.connect
def _use_the_platform_logging(**kwargs: Any) -> None:
    """The worker and beat log like the web (settings.LOGGING: UTC time, level, logger, one
    line per record), not in Celery's own format; LOG_LEVEL rules, not `-l`."""
    from logging.config import dictConfig

    from django.conf import settings

    dictConfig(settings.LOGGING)
