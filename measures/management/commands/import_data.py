"""``manage.py import_data FILE``: load a document written by ``export_data`` into a database
that holds no tracker data yet, keeping every id, slug, timestamp, correction link and
funding envelope as it was.

It refuses a database that already has tracker data (organisations, sources, strategies,
measures, events, citations or funding lines): merging two datasets could silently mix
ids and histories, and the event history is append-only by design. To restore a backup
over a deployment, load it into a fresh database (``createdb``, ``migrate``,
``import_data``) and point the app at it. User accounts may already exist: an event's
recorder is matched by username, and a recorder with no account here gets an inactive
account with no password, so the attribution survives; activate it to let them sign in.

Everything happens in one transaction: on any error nothing is loaded.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pghistory
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.management.color import no_style
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections, models, transaction

from measures.management.commands.export_data import (
    CITATIONS,
    SCHEMA_VERSION,
    SECTIONS,
    exported_fields,
    is_user_reference,
)
from measures.models import EventCitation

# Every table the document fills, citations included.
MODELS: list[type[models.Model]] = [*SECTIONS.values(), EventCitation]
# Rows of these sections may refer to another row of the same section.
SELF_REFERENCES = {"status_events": "supersedes", "funding_lines": "parent"}


class ImportRefusedError(CommandError):
    """The document or the database is not fit for an import."""


def _parse(field: models.Field[Any, Any], value: Any, where: str) -> Any:
    if value is None:
        return None
    try:
        if isinstance(field, models.DateTimeField):
            return datetime.datetime.fromisoformat(value)
        if isinstance(field, models.DateField):
            return datetime.date.fromisoformat(value)
        if isinstance(field, models.DecimalField):
            return Decimal(str(value))
    except (TypeError, ValueError) as error:
        raise ImportRefusedError(f"{where}: “{value}” is not a valid {field.name}.") from error
    return value


def _check_keys(row: Any, expected: set[str], where: str) -> None:
    if not isinstance(row, dict):
        raise ImportRefusedError(f"{where} is not an object.")
    missing, unknown = expected - row.keys(), row.keys() - expected
    if missing or unknown:
        raise ImportRefusedError(
            f"{where} does not match schema version {SCHEMA_VERSION}: "
            f"missing {sorted(missing) or 'nothing'}, unknown {sorted(unknown) or 'nothing'}."
        )


def _parents_first(rows: list[dict[str, Any]], link: str) -> list[dict[str, Any]]:
    """Order rows so that a row comes after the row its ``link`` refers to, because the
    composite foreign keys on those links are checked at once, not at commit."""
    by_id = {row["id"]: row for row in rows}
    placed: set[Any] = set()
    ordered: list[dict[str, Any]] = []
    for row in rows:
        chain = []
        current: dict[str, Any] | None = row
        while current is not None and current["id"] not in placed:
            chain.append(current)
            placed.add(current["id"])
            current = by_id.get(current[link])
        ordered.extend(reversed(chain))
    return ordered


@contextlib.contextmanager
def _timestamps_as_given(models_: list[type[models.Model]]) -> Iterator[None]:
    """Let ``created_at``/``updated_at`` keep the exported instants instead of now()."""
    fields = [
        field
        for model in models_
        for field in model._meta.concrete_fields
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False)
    ]
    saved = [(field, field.auto_now, field.auto_now_add) for field in fields]  # type: ignore[attr-defined]
    for field in fields:
        field.auto_now = field.auto_now_add = False  # type: ignore[attr-defined]
    try:
        yield
    finally:
        for field, auto_now, auto_now_add in saved:
            field.auto_now, field.auto_now_add = auto_now, auto_now_add  # type: ignore[attr-defined]


class Loader:
    """Turns the document's rows into model instances and inserts them."""

    def __init__(self, document: Any) -> None:
        if not isinstance(document, dict):
            raise ImportRefusedError("The file is not an export_data document.")
        version = document.get("schema_version")
        if version != SCHEMA_VERSION:
            raise ImportRefusedError(
                f"The document has schema version {version!r}; this tracker reads version "
                f"{SCHEMA_VERSION}. Export it again with the same release of the tracker."
            )
        for section in SECTIONS:
            if not isinstance(document.get(section), list):
                raise ImportRefusedError(f"The document has no “{section}” list.")
        self.document = document
        self.user_ids: dict[str, int] = {}
        self.users_created: list[str] = []

    def _user_id(self, username: str) -> int:
        if username not in self.user_ids:
            user_model = get_user_model()
            user = user_model._default_manager.filter(
                **{user_model.USERNAME_FIELD: username}
            ).first()
            if user is None:
                user = user_model(**{user_model.USERNAME_FIELD: username}, is_active=False)
                user.set_unusable_password()
                user.save()
                self.users_created.append(username)
            self.user_ids[username] = user.pk
        return self.user_ids[username]

    def _instance(
        self, model: type[models.Model], row: dict[str, Any], where: str, extra: set[str]
    ) -> models.Model:
        fields = exported_fields(model)
        _check_keys(row, {field.name for field in fields} | extra, where)
        values: dict[str, Any] = {}
        for field in fields:
            value = row[field.name]
            if is_user_reference(field):
                values[field.attname] = None if value is None else self._user_id(value)
            else:
                values[field.attname] = _parse(field, value, where)
        return model(**values)

    def load(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for section, model in SECTIONS.items():
            rows = self.document[section]
            if section in SELF_REFERENCES:
                rows = _parents_first(rows, SELF_REFERENCES[section])
            extra = {CITATIONS} if section == "status_events" else set()
            instances: list[Any] = []
            citations: list[Any] = []
            for number, row in enumerate(rows):
                where = f"{section}[{number}]"
                instances.append(self._instance(model, row, where, extra))
                for index, citation in enumerate(row.get(CITATIONS, [])):
                    instance = self._instance(
                        EventCitation, citation, f"{where}.{CITATIONS}[{index}]", set()
                    )
                    instance.event_id = row["id"]  # type: ignore[attr-defined]
                    citations.append(instance)
            model._default_manager.bulk_create(instances)
            counts[section] = len(instances)
            if citations:
                EventCitation.objects.bulk_create(citations)
                counts[CITATIONS] = len(citations)
        return counts


def existing_rows() -> dict[str, int]:
    return {
        str(model._meta.verbose_name_plural): model._default_manager.count()
        for model in MODELS
        if model._default_manager.exists()
    }


class Command(BaseCommand):
    help = (
        "Load a document written by export_data into a database with no tracker data yet, "
        "keeping ids, slugs, timestamps and links. Refuses a database that has tracker data."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, help="The JSON document; “-” reads standard input.")
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Check that the document loads, then roll everything back.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        try:
            text = sys.stdin.read() if str(path) == "-" else path.read_text(encoding="utf-8")
            document = json.loads(text)
        except (OSError, ValueError) as error:
            raise CommandError(f"Cannot read {path}: {error}") from error
        loader = Loader(document)
        connection = connections[DEFAULT_DB_ALIAS]
        try:
            with transaction.atomic(), pghistory.context(command="import_data"):
                existing = existing_rows()
                if existing:
                    found = ", ".join(f"{n} {what}" for what, n in existing.items())
                    raise ImportRefusedError(
                        f"The database already holds tracker data ({found}). import_data "
                        "loads only into a database without any; load the file into a "
                        "fresh database instead (createdb, migrate, import_data)."
                    )
                with _timestamps_as_given(MODELS):
                    counts = loader.load()
                with connection.cursor() as cursor:
                    # Check the deferred foreign keys now, so that a dangling reference is
                    # reported here rather than at commit.
                    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                    cursor.execute("SET CONSTRAINTS ALL DEFERRED")
                    # New rows must not collide with the ids just loaded.
                    for statement in connection.ops.sequence_reset_sql(no_style(), MODELS):
                        cursor.execute(statement)
                if options["dry_run"]:
                    transaction.set_rollback(True)
        except DatabaseError as error:
            raise CommandError(f"The document could not be loaded: {error}") from error
        summary = ", ".join(f"{n} {section}" for section, n in counts.items())
        dry_run = options["dry_run"]
        self.stdout.write(f"{'Would import' if dry_run else 'Imported'} {summary}.")
        if loader.users_created:
            self.stdout.write(
                f"{'Would create' if dry_run else 'Created'} inactive accounts, without "
                "passwords, for recorders with no account here: "
                f"{', '.join(loader.users_created)}."
            )
