from typing import Any

from django.core.management.base import BaseCommand, CommandError

from measures.seeding import SeedError, load_seeds


class Command(BaseCommand):
    help = "Load the cited seed data in seeds/*.yaml. Safe to run again: it changes nothing twice."

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            counts = load_seeds()
        except SeedError as error:
            raise CommandError(f"Seed data is inconsistent: {error}") from error
        if not counts:
            self.stdout.write("Seed data already loaded; nothing changed.")
            return
        for what, number in sorted(counts.items()):
            self.stdout.write(f"{number} {what}")
