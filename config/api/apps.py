from django.apps import AppConfig


class ApiConfig(AppConfig):
    """Installed for its one model, the record of idempotent requests, and the command that
    purges old ones."""

    name = "config.api"
    label = "api"
    verbose_name = "API"
