from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webhooks"
    verbose_name = "Webhooks"

    def ready(self) -> None:
        # A change recorded by a service becomes deliveries in the same transaction.
        from strategy.changes import change_recorded, changes_recorded
        from webhooks import outbox

        change_recorded.connect(outbox.on_change_recorded, dispatch_uid="webhooks.outbox")
        changes_recorded.connect(outbox.on_changes_recorded, dispatch_uid="webhooks.outbox.set")
