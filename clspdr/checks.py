"""System checks of the platform's own settings (`manage.py check --deploy`)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Tags, Warning, register


@register(Tags.security, deploy=True)
def check_admins(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    if settings.ADMINS:
        return []
    return [
        Warning(
            "ADMINS is empty: server errors are written to the logs only, nobody is told.",
            hint='Set ADMINS="Service informatique <si@example.org>" (README.md).',
            id="clspdr.W001",
        )
    ]
