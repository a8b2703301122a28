"""Create the `researchers` and `reviewers` groups with exactly their permissions.
Idempotent: running it again resets the groups to this definition and changes nothing else."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

# Researchers keep the record true: they add and correct, they never delete (a correction
# supersedes; the audit trail keeps everything).
RESEARCHER_PERMISSIONS = {
    "strategy": {
        "organisation": ["view", "add", "change"],
        "source": ["view", "add", "change"],
        "strategy": ["view", "add", "change"],
    },
    "measures": {
        "measure": ["view", "add", "change"],
        "statusevent": ["view", "add"],
        "eventcitation": ["view", "add"],
        "fundingline": ["view", "add", "change"],
        "auditevent": ["view"],
    },
}
# Reviewers read everything researchers can see, and change nothing.
REVIEWER_PERMISSIONS = {
    app: {model: ["view"] for model in models} for app, models in RESEARCHER_PERMISSIONS.items()
}
ROLES = {"researchers": RESEARCHER_PERMISSIONS, "reviewers": REVIEWER_PERMISSIONS}


def permissions_for(spec: dict[str, dict[str, list[str]]]) -> list[Permission]:
    wanted = {
        (app, f"{action}_{model}")
        for app, models in spec.items()
        for model, actions in models.items()
        for action in actions
    }
    found = [
        permission
        for permission in Permission.objects.select_related("content_type")
        if (permission.content_type.app_label, permission.codename) in wanted
    ]
    missing = wanted - {(p.content_type.app_label, p.codename) for p in found}
    if missing:
        raise CommandError(f"Permissions not found (run migrate first?): {sorted(missing)}")
    return found


class Command(BaseCommand):
    help = (
        "Create or reset the `researchers` and `reviewers` groups. With --add-user USERNAME "
        "--role ROLE, also put a user in a group and give them staff status for the admin "
        "(--create makes the user first; set their password with changepassword)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--add-user", metavar="USERNAME", help="A user to add to a role.")
        parser.add_argument("--role", choices=sorted(ROLES), help="The role for --add-user.")
        parser.add_argument(
            "--create",
            action="store_true",
            help="Create the --add-user user if there is none, without a password yet.",
        )

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        for name, spec in ROLES.items():
            group, created = Group.objects.get_or_create(name=name)
            wanted = permissions_for(spec)
            current = set(group.permissions.all())
            if current != set(wanted):
                group.permissions.set(wanted)
                self.stdout.write(f"{name}: {len(wanted)} permissions set")
            elif created:
                self.stdout.write(f"{name}: created")
            else:
                self.stdout.write(f"{name}: already as defined")
        if options["add_user"]:
            if not options["role"]:
                raise CommandError("--add-user needs --role researchers or --role reviewers")
            username = options["add_user"]
            users = get_user_model().objects
            user = users.filter(username=username).first()
            if user is None and options["create"]:
                user = users.create_user(username=username)  # no usable password yet
                self.stdout.write(
                    f"{username} created; set a password with: manage.py changepassword {username}"
                )
            if user is None:
                raise CommandError(
                    f"No user “{username}”; add --create to create it, or create it in the admin."
                )
            user.groups.add(Group.objects.get(name=options["role"]))
            if not user.is_staff:
                user.is_staff = True
                user.save(update_fields=["is_staff"])
            self.stdout.write(
                f"{user.get_username()} is now in {options['role']} and may sign in to the admin"
            )
