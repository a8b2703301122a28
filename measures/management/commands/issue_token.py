"""``manage.py issue_token USERNAME [--rotate]``: print the API token of an existing,
active user, creating it if the user has none. Only the key is printed, so a script can
capture it: ``TOKEN=$(python manage.py issue_token alice)``."""

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from rest_framework.authtoken.models import Token


class Command(BaseCommand):
    help = (
        "Print the API token of an existing active user, creating it if absent. "
        "With --rotate the old token stops working and a new one is printed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username", help="The user's username, e.g. “alice”.")
        parser.add_argument(
            "--rotate",
            action="store_true",
            help="Replace the user's token: the old one is refused from now on.",
        )

    def handle(self, *args: Any, username: str, rotate: bool, **options: Any) -> None:
        user_model = get_user_model()
        try:
            user = user_model._default_manager.get_by_natural_key(username)
        except user_model.DoesNotExist:
            raise CommandError(
                f"No user “{username}”; create it first (createsuperuser or the admin)."
            ) from None
        if not user.is_active:
            # An inactive user's token is refused by the API anyway; issuing one would only
            # hide that the account is disabled.
            raise CommandError(f"The user “{username}” is inactive; reactivate it first.")
        with transaction.atomic():
            if rotate:
                Token.objects.filter(user=user).delete()
            token, created = Token.objects.get_or_create(user=user)
        if rotate:
            self.stderr.write(f"New token for {username}; the previous one no longer works.")
        elif created:
            self.stderr.write(f"New token for {username}.")
        self.stdout.write(token.key)
