"""``manage.py import_data FILE``: load a document written by ``export_data`` into a database
that holds no tracker data yet, keeping every id, slug, timestamp, correction link and
funding envelope as it was.

It reads schema version 3; version 2, whose events lack ``is_retraction`` (none was a
retraction); and version 1 (written before the tracker recorded legislation):
a version-1 document has no ``bills``, ``bill_stages``, ``acts``, ``provisions``,
``commencements`` or ``measure_provisions`` (they load empty), and its rows lack the fields
version 2 added, which load as the migration that added them left existing rows: an
event's date precise to the day, not limited in place or time; a funding line with no
announcement date, realising no other line, not a ceiling; a measure's cached status
valid indefinitely (version 1 could hold no future-dated or ending event). Any other
version is refused.

It refuses a database that already has tracker data (organisations, sources, legislation,
strategies, measures, events, citations or funding lines): merging two datasets could
silently mix ids and histories, and the event history is append-only by design. To restore
a backup over a deployment, load it into a fresh database (``createdb``, ``migrate``,
``import_data``) and point the app at it. User accounts may already exist: an event's
recorder is matched by username, and a recorder with no account here gets an inactive
account with no password, so the attribution survives; activate it to let them sign in.

Everything happens in one transaction: on any error nothing is loaded.

Speed: a restore of 100,000 measures writes over a million rows, so each table is loaded
with one ``COPY``, and row triggers, which would cost more than the rows, are switched off
inside the transaction. What they would have done is done once per table instead:
``change_xid`` is the loading transaction's id, written with the rows, and the audit trail
gets one ``insert`` entry per row, copied from the loaded table in one statement and
attributed to this import. Foreign keys stay on: Django's are deferred to the end of the
load, so rows of a section may come in any order (a funding line before the line it
realises); the composite ones are checked at once, so a corrected event is loaded before
its correction and an envelope before the lines drawn from it.
"""

from __future__ import annotations

import datetime
import json
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pghistory
import pghistory.models
import psycopg
import psycopg.sql
from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.postgres.fields import ArrayField
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.management.color import no_style
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections, models, transaction

from measures.management.commands.export_data import (
    CITATIONS,
    COMMENCED,
    SCHEMA_VERSION,
    SECTIONS,
    CommencedProvision,
    exported_fields,
    is_user_reference,
)
from measures.models import EventCitation

# Every table the document fills, citations and commenced provisions included.
MODELS: list[type[models.Model]] = [*SECTIONS.values(), EventCitation, CommencedProvision]
# Rows of these sections may refer to another row of the same section through a composite
# foreign key, which PostgreSQL checks at once: the row referred to is loaded first. (A
# funding line's ``realises`` is a plain, deferred foreign key: any order loads.)
SELF_REFERENCES = {"status_events": "supersedes", "funding_lines": "parent"}
# The key under which rows of a section carry rows of another table.
NESTED = {"status_events": CITATIONS, "commencements": COMMENCED}
# Counted in the summary under this name (“provisions” is a section).
COMMENCED_COUNT = "commenced_provisions"

# The document versions this tracker reads.
READABLE_VERSIONS = (1, 2, SCHEMA_VERSION)
# What version 1 lacked: sections, which load empty, and fields, which load with these
# values (those the migration adding them gave the rows of the time).
ADDED_IN_VERSION_2_SECTIONS = (
    "bills",
    "bill_stages",
    "acts",
    "provisions",
    "commencements",
    "measure_provisions",
)
ADDED_IN_VERSION_2_FIELDS: dict[str, dict[str, Any]] = {
    "measures": {"status_valid_until": None},
    "status_events": {
        "effective_on_precision": "day",
        "extent": [],
        "area": "",
        "ends_on": None,
    },
    "funding_lines": {
        "announced_on": None,
        "announced_on_precision": "day",
        "realises": None,
        "is_ceiling": False,
    },
}


# What version 2 lacked: no event was a retraction.
ADDED_IN_VERSION_3_FIELDS: dict[str, dict[str, Any]] = {"status_events": {"is_retraction": False}}


def fields_absent_from(version: int) -> dict[str, dict[str, Any]]:
    """Per section, the fields a document of ``version`` lacks, with the value each loads
    with."""
    added = [(2, ADDED_IN_VERSION_2_FIELDS), (3, ADDED_IN_VERSION_3_FIELDS)]
    absent: dict[str, dict[str, Any]] = {}
    for since, fields in added:
        if version < since:
            for section, values in fields.items():
                absent[section] = {**absent.get(section, {}), **values}
    return absent


class ImportRefusedError(CommandError):
    """The document or the database is not fit for an import."""


def _parse(field: models.Field[Any, Any], value: Any, where: str) -> Any:
    if value is None:
        return None
    if isinstance(field, ArrayField):
        if not isinstance(value, list):
            raise ImportRefusedError(f"{where}: {field.name} is not a JSON array.")
        return [_parse(field.base_field, item, where) for item in value]
    if isinstance(value, dict | list):
        raise ImportRefusedError(f"{where}: {field.name} holds a JSON {type(value).__name__}.")
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


def _check_keys(row: Any, expected: set[str], where: str, version: int) -> None:
    if not isinstance(row, dict):
        raise ImportRefusedError(f"{where} is not an object.")
    missing, unknown = expected - row.keys(), row.keys() - expected
    if missing or unknown:
        raise ImportRefusedError(
            f"{where} does not match schema version {version}: "
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


class Loader:
    """Turns the document's rows into model instances and inserts them."""

    def __init__(self, document: Any) -> None:
        if not isinstance(document, dict):
            raise ImportRefusedError("The file is not an export_data document.")
        version = document.get("schema_version")
        if isinstance(version, bool) or version not in READABLE_VERSIONS:
            raise ImportRefusedError(
                f"The document has schema version {version!r}; this tracker reads versions "
                f"{' and '.join(map(str, READABLE_VERSIONS))}. Export it again with the same "
                "release of the tracker."
            )
        self.version: int = version
        self.absent = fields_absent_from(version)
        if version == 1:
            for section in ADDED_IN_VERSION_2_SECTIONS:
                if section in document:
                    raise ImportRefusedError(
                        f"A version-1 document has no “{section}”: is it version 2?"
                    )
            document = {**document, **{section: [] for section in ADDED_IN_VERSION_2_SECTIONS}}
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

    def _values(
        self,
        fields: list[models.Field[Any, Any]],
        row: dict[str, Any],
        where: str,
        expected: set[str],
        absent: dict[str, Any] | None = None,
    ) -> list[Any]:
        """The row's values in the order of ``fields``, checked and parsed; a field the
        document's version lacks (``absent``) takes the value given there."""
        _check_keys(row, expected, where, self.version)
        absent = absent or {}
        values: list[Any] = []
        for field in fields:
            value = absent[field.name] if field.name in absent else row[field.name]
            if is_user_reference(field):
                if value is not None and value not in self.user_ids:
                    raise ImportRefusedError(f"{where}: {field.name} is not a username.")
                values.append(None if value is None else self.user_ids[value])
            else:
                values.append(_parse(field, value, where))
        return values

    def _commenced(self, row: dict[str, Any], where: str) -> list[list[Any]]:
        """The (commencement, provision) links of a commencement row."""
        ids = row[COMMENCED]
        if not isinstance(ids, list) or not all(
            isinstance(pk, int) and not isinstance(pk, bool) for pk in ids
        ):
            raise ImportRefusedError(f"{where}: {COMMENCED} is not a list of provision ids.")
        return [[row["id"], pk] for pk in ids]

    def load(self, cursor: Any, change_xid: int) -> dict[str, int]:
        """Every section with ``COPY``, the rows as given: ids, timestamps and attribution
        are the exported ones; ``change_xid`` is this transaction's."""
        counts: dict[str, int] = {}
        citation_fields = exported_fields(EventCitation)
        citation_keys = {field.name for field in citation_fields}
        citation_event = EventCitation._meta.get_field("event").column
        link_columns = {f.name: str(f.column) for f in CommencedProvision._meta.concrete_fields}
        commenced_columns = [link_columns["commencement"], link_columns["provision"]]
        for section, model in SECTIONS.items():
            rows = self.document[section]
            if section in SELF_REFERENCES:
                rows = _parents_first(rows, SELF_REFERENCES[section])
            fields = exported_fields(model)
            absent = self.absent.get(section, {})
            expected = {field.name for field in fields} - absent.keys()
            if section in NESTED:
                expected.add(NESTED[section])
            columns = [str(field.column) for field in fields]
            stamped = any(field.name == "change_xid" for field in model._meta.concrete_fields)
            if stamped:
                columns.append("change_xid")
            # Accounts are looked up (or made) before the COPY: the connection takes no
            # other statement while one runs.
            for field in fields:
                if is_user_reference(field):
                    for row in rows:
                        if isinstance(row, dict) and isinstance(row.get(field.name), str):
                            self._user_id(row[field.name])
            citations: list[list[Any]] = []
            commenced: list[list[Any]] = []
            with cursor.copy(copy_statement(model, columns)) as copy:
                for number, row in enumerate(rows):
                    where = f"{section}[{number}]"
                    values = self._values(fields, row, where, expected, absent)
                    if stamped:
                        values.append(change_xid)
                    copy.write_row(values)
                    if section == "commencements":
                        commenced.extend(self._commenced(row, where))
                    elif section == "status_events":
                        if not isinstance(row[CITATIONS], list):
                            raise ImportRefusedError(f"{where}: {CITATIONS} is not a list.")
                        for index, citation in enumerate(row[CITATIONS]):
                            citations.append(
                                [
                                    *self._values(
                                        citation_fields,
                                        citation,
                                        f"{where}.{CITATIONS}[{index}]",
                                        citation_keys,
                                    ),
                                    row["id"],
                                ]
                            )
            counts[section] = len(rows)
            if citations:
                columns = [str(field.column) for field in citation_fields] + [str(citation_event)]
                with cursor.copy(copy_statement(EventCitation, columns)) as copy:
                    for values in citations:
                        copy.write_row(values)
                counts[CITATIONS] = len(citations)
            if commenced:
                with cursor.copy(copy_statement(CommencedProvision, commenced_columns)) as copy:
                    for values in commenced:
                        copy.write_row(values)
                counts[COMMENCED_COUNT] = len(commenced)
        return counts


def copy_statement(model: type[models.Model], columns: list[str]) -> psycopg.sql.Composed:
    return psycopg.sql.SQL("COPY {table} ({columns}) FROM STDIN").format(
        table=psycopg.sql.Identifier(model._meta.db_table),
        columns=psycopg.sql.SQL(", ").join(map(psycopg.sql.Identifier, columns)),
    )


def history_model(model: type[models.Model]) -> type[models.Model] | None:
    """The pghistory event model that tracks ``model``, if any."""
    for candidate in apps.get_models():
        if (
            issubclass(candidate, pghistory.models.Event)
            and candidate.pgh_tracked_model is model
            and hasattr(candidate, "pgh_obj")
        ):
            return candidate
    return None


def record_inserts(model: type[models.Model], context_id: Any, cursor: Any) -> None:
    """One audit-trail ``insert`` entry per row of ``model``, written in one statement:
    what the insert trigger would have written row by row."""
    history = history_model(model)
    if history is None:
        return
    quote = cursor.db.ops.quote_name
    tracked = {field.column for field in model._meta.concrete_fields}
    targets, sources = [], []
    for field in history._meta.concrete_fields:
        if field.name == "pgh_id":
            continue
        targets.append(quote(field.column))
        if field.name == "pgh_created_at":
            sources.append("now()")
        elif field.name == "pgh_label":
            sources.append("'insert'")
        elif field.name == "pgh_obj":
            sources.append(quote(model._meta.pk.column))
        elif field.name == "pgh_context":
            sources.append("%s")
        elif field.column in tracked:
            sources.append(quote(field.column))
        else:
            sources.append("NULL")
    cursor.execute(
        f"INSERT INTO {quote(history._meta.db_table)} ({', '.join(targets)}) "  # noqa: S608
        f"SELECT {', '.join(sources)} FROM {quote(model._meta.db_table)}",
        [context_id],
    )


def set_row_triggers(cursor: Any, *, enabled: bool) -> None:
    """Switch the tracker tables' own triggers (not the foreign-key checks) off or on again.
    ALTER TABLE is transactional: if the load fails, the rollback switches them back on."""
    for model in MODELS:
        table = cursor.db.ops.quote_name(model._meta.db_table)
        cursor.execute(f"ALTER TABLE {table} {'ENABLE' if enabled else 'DISABLE'} TRIGGER USER")


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
                with connection.cursor() as cursor:
                    # A restore of a large deployment runs longer than a web request may.
                    cursor.execute("SET LOCAL statement_timeout = 0")
                    cursor.execute("SELECT pg_current_xact_id()::text::bigint")
                    (change_xid,) = cursor.fetchone()
                    context = pghistory.models.Context.objects.create(
                        metadata={"command": "import_data"}
                    )
                    set_row_triggers(cursor, enabled=False)
                    counts = loader.load(cursor.cursor, change_xid)
                    for model in MODELS:
                        record_inserts(model, context.pk, cursor)
                    # Check the deferred foreign keys now, so that a dangling reference is
                    # reported here rather than at commit (and no check is pending when the
                    # triggers are switched back on, which PostgreSQL requires).
                    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                    cursor.execute("SET CONSTRAINTS ALL DEFERRED")
                    set_row_triggers(cursor, enabled=True)
                    # New rows must not collide with the ids just loaded.
                    for statement in connection.ops.sequence_reset_sql(no_style(), MODELS):
                        cursor.execute(statement)
                if options["dry_run"]:
                    transaction.set_rollback(True)
        except (DatabaseError, psycopg.Error) as error:
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
