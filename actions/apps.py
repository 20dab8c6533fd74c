from django.apps import AppConfig


class ActionsConfig(AppConfig):
    name = "actions"
    verbose_name = "Plan d'action"

    def ready(self) -> None:
        from actions import access  # noqa: F401  (registers the access rules)
