from django.apps import AppConfig


class ClspdrConfig(AppConfig):
    name = "clspdr"
    verbose_name = "Plateforme CLSPDR"
