from django.apps import AppConfig


class ClspdrConfig(AppConfig):
    name = "clspdr"
    verbose_name = "Plateforme CLSPDR"

    def ready(self) -> None:
        from clspdr import (
            audit,  # noqa: F401  (registers the "audit.view" rule)
            checks,  # noqa: F401  (registers the deployment checks)
            search,
        )

        search.install()
