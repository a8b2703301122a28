"""``manage.py purge_idempotency_keys``: delete the records of idempotent requests older than
``IDEMPOTENCY_KEY_RETENTION_HOURS``. Run it daily; the release step also runs it."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from config.api.models import IdempotencyRecord


class Command(BaseCommand):
    help = (
        "Delete Idempotency-Key records older than IDEMPOTENCY_KEY_RETENTION_HOURS "
        "(a retry after that is treated as a new request)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        deleted, _ = IdempotencyRecord.objects.expired().delete()
        hours = settings.IDEMPOTENCY_KEY_RETENTION_HOURS
        self.stdout.write(f"Deleted {deleted} idempotency record(s) older than {hours} hours.")
