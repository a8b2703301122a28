"""Queue again the pending webhook deliveries whose task was lost. ``run_worker`` does
this every minute; with another Tasks backend, whose own worker replaces it, run this
from a scheduler every few minutes."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from webhooks import outbox


class Command(BaseCommand):
    help = "Queue again the webhook deliveries that are overdue (their task was lost)."

    def handle(self, *args: Any, **options: Any) -> None:
        count = outbox.sweep()
        self.stdout.write(f"{count} overdue deliveries queued again")
