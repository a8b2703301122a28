from typing import Any

from django.core.management.base import BaseCommand

from measures.services import refresh_expired_statuses


class Command(BaseCommand):
    help = (
        "Rewrite the cached status of measures whose future-dated events have taken effect or "
        "whose events have ended. Reads are right without it; run it daily to keep the "
        "cached columns and the change feed in step."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        count = refresh_expired_statuses()
        self.stdout.write(f"{count} measure{'s' if count != 1 else ''} refreshed")
