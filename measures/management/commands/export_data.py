"""``manage.py export_data``: the whole dataset as one JSON document, to back a deployment up
or move it to another server without database access; ``import_data`` loads it back.

The document (``schema_version`` 3)::

    {"schema_version": 3, "exported_at": "2026-01-31T12:00:00+00:00",
     "organisations": [...], "sources": [...],
     "bills": [...], "bill_stages": [...], "acts": [...], "provisions": [...],
     "commencements": [{..., "provisions": [3, 4]}],
     "strategies": [...], "measures": [...], "measure_provisions": [...],
     "status_events": [{..., "citations": [...]}], "funding_lines": [...]}

The sections are in load order: a row only refers to rows of earlier sections or of its own
(a correction, a funding line's envelope or the line it realises). Each row has every stored
field of its model under the field's name, ``id`` included; a reference to another row is
that row's id, except who recorded an event or a funding line, which is a username. What a
commencement brings into force travels inside it, as the ids of the provisions under
``provisions``; an event's citations travel inside it under ``citations``. Dates and
instants are ISO 8601 (instants in UTC), money a decimal string, an extent a JSON array of
nations (``[]``: not limited). Not exported: user accounts, tokens and groups (credentials
stay with a deployment), the audit history tables, and the change feed's transaction ids (a
new database has new ones; feed clients start again from the beginning).

Version 2 added the law's path (``bills`` to ``commencements``), ``measure_provisions``, a
measure's ``status_valid_until``, an event's ``effective_on_precision``, ``extent``,
``area`` and ``ends_on``, and a funding line's ``announced_on``, ``announced_on_precision``,
``realises`` and ``is_ceiling``. Version 3 added an event's ``is_retraction``.
``import_data`` still reads versions 1 and 2 (see there).

The document is streamed, in constant memory whatever the size of the dataset: PostgreSQL
writes each row's JSON text (its citations or provisions inside it), each section is one
``COPY (SELECT ...) TO STDOUT`` that PostgreSQL sends as it goes (building the next rows
while this process writes the last ones), and the command holds ``WRITE_ROWS`` rows at
most before writing them out (``python -m bench.export_rate`` measures its speed and
memory). Every section is read in one REPEATABLE READ, READ ONLY transaction, so the
document is one consistent snapshot even while the application keeps writing; that
transaction has no statement timeout (a section of a large deployment is one long
statement).

The text is the one ``json.dumps(document, indent=indent, ensure_ascii=False)`` gives for
the same rows read through the ORM, byte for byte: the same layout (``--indent 0``: one
line, ``", "`` and ``": "`` between items), the same escapes, instants as Python's
``isoformat()`` in UTC (microseconds only when not zero), money as ``str()`` of its
``Decimal``; ``tests/deploy/test_export_streams.py`` holds it to that. With ``--output``,
the document is written to a file beside the target and renamed over it when complete, so
an export that fails half-way leaves an earlier backup at that path as it was.
"""

from __future__ import annotations

import datetime
import io
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.postgres.fields import ArrayField
from django.core.management.base import BaseCommand, CommandParser
from django.db import DEFAULT_DB_ALIAS, connections, models, transaction
from django.utils import timezone

from legislation.models import Act, Bill, BillStage, Commencement, Provision
from measures.models import EventCitation, FundingLine, Measure, MeasureProvision, StatusEvent
from strategy.models import Organisation, Source, Strategy

SCHEMA_VERSION = 3

# The sections of the document in load order: a row only refers to rows of earlier
# sections, or of its own section (a correction, a funding line's envelope or the line it
# realises).
SECTIONS: dict[str, type[models.Model]] = {
    "organisations": Organisation,
    "sources": Source,
    "bills": Bill,
    "bill_stages": BillStage,
    "acts": Act,
    "provisions": Provision,
    "commencements": Commencement,
    "strategies": Strategy,
    "measures": Measure,
    "measure_provisions": MeasureProvision,
    "status_events": StatusEvent,
    "funding_lines": FundingLine,
}
# Citations travel inside their event, under this key.
CITATIONS = "citations"
# What a commencement brings into force travels inside it, as provision ids, under this key.
COMMENCED = "provisions"
# The table linking a commencement to its provisions (Django's, for the ManyToManyField).
CommencedProvision: type[models.Model] = Commencement.provisions.through
# Positions in the change feed belong to one database and are re-stamped on import.
NOT_EXPORTED = frozenset({"change_xid"})

# The export's transaction runs with these settings: a section is one COPY, which may run
# longer than the statement timeout set for requests; compiling its row expressions just in
# time costs more than it saves; the SQL's literals are standard strings.
EXPORT_SETTINGS = {"statement_timeout": "0", "jit": "off", "standard_conforming_strings": "on"}
# Rows written out at a time: a few megabytes of JSON text at most, whatever the table's size.
WRITE_ROWS = 1000

# How PostgreSQL writes a value of each kind of field as the JSON text json.dumps would
# write for the value the ORM reads (``column`` is the column's SQL; a NULL stays NULL).
INTEGER_FIELDS = frozenset(
    {
        "AutoField",
        "BigAutoField",
        "SmallAutoField",
        "IntegerField",
        "BigIntegerField",
        "SmallIntegerField",
        "PositiveIntegerField",
        "PositiveBigIntegerField",
        "PositiveSmallIntegerField",
    }
)
# to_json() writes these as json.dumps does: a string with the same escapes (with
# ensure_ascii=False), a boolean as true or false.
TO_JSON_FIELDS = frozenset({"CharField", "TextField", "SlugField", "BooleanField"})
# An instant as Python's isoformat() in UTC: microseconds only when there are some (one
# to_char and a replace cost less than choosing between two formats).
INSTANT_SQL = r"""replace(to_char({column} AT TIME ZONE 'UTC', '\"YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"\"'), '.000000+', '+')"""


def exported_fields(model: type[models.Model]) -> list[models.Field[Any, Any]]:
    """The stored fields of ``model`` that the document carries, in declaration order."""
    return [
        field
        for field in model._meta.concrete_fields
        if field.name not in NOT_EXPORTED
        and not getattr(field, "generated", False)
        and not (model is EventCitation and field.name == "event")
    ]


def is_user_reference(field: models.Field[Any, Any]) -> bool:
    return (
        field.is_relation
        and field.related_model is not None
        and (field.related_model._meta.label == settings.AUTH_USER_MODEL)
    )


class Layout:
    """Where ``json.dumps(indent=indent)`` puts whitespace, by the nesting level of an item
    (the document's keys are at level 1, a section's rows at 2, their keys at 3)."""

    def __init__(self, indent: int | None) -> None:
        self.indent = None if indent is None else " " * indent

    def newline(self, level: int) -> str:
        """Before the first item at ``level``, or before the bracket closing a container
        whose items are at ``level + 1``."""
        return "" if self.indent is None else "\n" + self.indent * level

    def separator(self, level: int) -> str:
        """Between two items at ``level``."""
        return ", " if self.indent is None else "," + self.newline(level)


# The SQL below is built from the models' table and column names (quoted) and from
# literals of the layout (through _literal): no value from outside goes into it.
def _quote(name: str | None) -> str:
    if not name:
        raise TypeError("Only stored fields have a column.")
    return connections[DEFAULT_DB_ALIAS].ops.quote_name(name)


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _list_sql(items: str, layout: Layout, level: int) -> str:
    """A JSON array around ``items`` (SQL joining its items' text with the separator) at
    ``level``; NULL when ``items`` is (no item)."""
    return (
        f"{_literal('[' + layout.newline(level + 1))} || {items} || "
        f"{_literal(layout.newline(level) + ']')}"
    )


def _value_sql(field: models.Field[Any, Any], column: str, layout: Layout, level: int) -> str:
    """SQL for the JSON text of ``field``'s value in ``column``, an item at ``level``."""
    if isinstance(field, ArrayField):
        element = _value_sql(field.base_field, "element.value", layout, level + 1)
        items = (
            f"array_to_string(ARRAY(SELECT coalesce({element}, 'null') FROM unnest({column}) "  # noqa: S608
            "WITH ORDINALITY AS element (value, position) ORDER BY element.position), "
            f"{_literal(layout.separator(level + 1))})"
        )
        return f"CASE cardinality({column}) WHEN 0 THEN '[]' ELSE {_list_sql(items, layout, level)} END"
    if isinstance(field, models.ForeignKey):
        return _value_sql(field.target_field, column, layout, level)
    kind = field.get_internal_type()
    if kind in INTEGER_FIELDS:
        return f"{column}::text"
    if kind in TO_JSON_FIELDS:
        return f"to_json({column})::text"
    if kind == "DateField":
        # JSON dates are ISO 8601 whatever the session's DateStyle.
        return f"to_json({column})::text"
    if kind == "DateTimeField":
        return INSTANT_SQL.format(column=column)
    if isinstance(field, models.DecimalField) and (field.decimal_places or 0) <= 6:
        # With its fixed scale, the numeric's text is str() of the Decimal the ORM reads
        # (str() turns to exponent notation only past six decimal places).
        return f"""'"' || {column}::text || '"'"""
    raise TypeError(f"export_data cannot write {field.model.__name__}.{field.name} ({kind}).")


def _field(model: type[models.Model], name: str) -> models.Field[Any, Any]:
    field = model._meta.get_field(name)
    if not isinstance(field, models.Field):
        raise TypeError(f"{model.__name__}.{name} is not a stored field.")
    return field


def _username_sql(field: models.Field[Any, Any], column: str, layout: Layout, level: int) -> str:
    """The username of the user ``column`` refers to, as the document names a recorder."""
    if not isinstance(field, models.ForeignKey):
        raise TypeError(f"{field.model.__name__}.{field.name} is not a foreign key.")
    user = get_user_model()
    username = _field(user, user.USERNAME_FIELD)
    value = _value_sql(username, f"account.{_quote(username.column)}", layout, level)
    return (
        f"(SELECT {value} FROM {_quote(user._meta.db_table)} AS account "  # noqa: S608
        f"WHERE account.{_quote(field.target_field.column)} = {column})"
    )


def _field_values(
    model: type[models.Model], alias: str, layout: Layout, level: int
) -> list[tuple[str, str]]:
    """Each exported field of ``model`` (the table as ``alias``) with SQL for its JSON text,
    a value at ``level``."""
    values = []
    for field in exported_fields(model):
        column = f"{alias}.{_quote(field.column)}"
        if is_user_reference(field):
            values.append((field.name, _username_sql(field, column, layout, level)))
        else:
            values.append((field.name, _value_sql(field, column, layout, level)))
    return values


def _object_sql(values: list[tuple[str, str]], layout: Layout, level: int) -> str:
    """SQL for a JSON object at ``level`` with these keys and values (SQL, NULL for null)."""
    parts = []
    for position, (name, value) in enumerate(values):
        before = "{" + layout.newline(level + 1) if position == 0 else layout.separator(level + 1)
        parts.append(_literal(before + json.dumps(name, ensure_ascii=False) + ": "))
        parts.append(f"coalesce({value}, 'null')")
    parts.append(_literal(layout.newline(level) + "}"))
    return " || ".join(parts)


def _nested_join(model: type[models.Model], layout: Layout) -> tuple[str, str] | None:
    """For a section whose rows carry other rows inside them (an event its citations, a
    commencement its provisions): the key, and a join giving each row's list as ``nested.items``.
    The lists are built in one pass over the other table, grouped, and merged with the
    section's rows in id order (not looked up row by row)."""
    inner: type[models.Model]
    if model is StatusEvent:
        inner, key, link = EventCitation, CITATIONS, _field(EventCitation, "event")
        item = _object_sql(_field_values(inner, "item", layout, 5), layout, 4)
        order = f"item.{_quote(inner._meta.pk.column)}"
    elif model is Commencement:
        inner, key, link = CommencedProvision, COMMENCED, _field(CommencedProvision, "commencement")
        provision = _field(inner, "provision")
        order = f"item.{_quote(provision.column)}"
        item = _value_sql(provision, order, layout, 4)
    else:
        return None
    join = (
        f"LEFT JOIN (SELECT item.{_quote(link.column)} AS link, "  # noqa: S608
        f"string_agg({item}, {_literal(layout.separator(4))} ORDER BY {order}) AS items "
        f"FROM {_quote(inner._meta.db_table)} AS item GROUP BY item.{_quote(link.column)}) "
        f"AS nested ON nested.link = record.{_quote(model._meta.pk.column)}"
    )
    return key, join


def section_sql(model: type[models.Model], layout: Layout) -> str:
    """The query giving each row of ``model``'s section as its JSON text, in id order: an
    object at level 2 (the document is at 0, the section's list at 1)."""
    values = _field_values(model, "record", layout, 3)
    join = ""
    nested = _nested_join(model, layout)
    if nested is not None:
        key, join = nested
        values.append((key, f"coalesce({_list_sql('nested.items', layout, 3)}, '[]')"))
    return (
        f"SELECT {_object_sql(values, layout, 2)} "  # noqa: S608
        f"FROM {_quote(model._meta.db_table)} AS record {join} "
        f"ORDER BY record.{_quote(model._meta.pk.column)}"
    )


def _write_section(
    cursor: Any, model: type[models.Model], write: Callable[[str], object], layout: Layout
) -> int:
    """Write the JSON array of ``model``'s rows as PostgreSQL sends them; return how many
    there were. ``COPY ... TO STDOUT`` streams the rows without a round trip per batch, so
    PostgreSQL builds rows while this process writes the ones before; the binary format
    passes the text as it is (no escapes to undo)."""
    statement = f"COPY ({section_sql(model, layout)}) TO STDOUT (FORMAT BINARY)"
    between = layout.separator(2)
    rows = 0
    batch: list[str] = []
    # Django's database exceptions, as for any other statement (COPY is not run through
    # Django's cursor wrapper).
    with connections[DEFAULT_DB_ALIAS].wrap_database_errors, cursor.copy(statement) as copy:
        copy.set_types(["text"])
        for (text,) in copy.rows():
            batch.append(text)
            if len(batch) == WRITE_ROWS:
                write(("[" + layout.newline(2) if rows == 0 else between) + between.join(batch))
                rows += len(batch)
                batch.clear()
    if batch:
        write(("[" + layout.newline(2) if rows == 0 else between) + between.join(batch))
        rows += len(batch)
    write(layout.newline(1) + "]" if rows else "[]")
    return rows


def _set_locally(cursor: Any, values: dict[str, str]) -> None:
    """Set these run-time settings until the end of the transaction."""
    pairs = [item for name, value in values.items() for item in (name, value)]
    cursor.execute("SELECT " + ", ".join(["set_config(%s, %s, true)"] * len(values)), pairs)


def write_document(write: Callable[[str], object], *, indent: int | None = None) -> dict[str, int]:
    """Write the document through ``write``, a piece at a time, read in one consistent
    snapshot of the database, laid out as ``json.dumps(indent=indent)`` lays it out; return
    the number of rows of each section."""
    layout = Layout(indent)
    connection = connections[DEFAULT_DB_ALIAS]
    fresh_transaction = not connection.in_atomic_block
    counts: dict[str, int] = {}
    with transaction.atomic(), connection.cursor() as cursor:
        if fresh_transaction:
            # The first statement of the transaction: every section sees the same data
            # even while the application keeps writing.
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        names = list(EXPORT_SETTINGS)
        cursor.execute("SELECT " + ", ".join(["current_setting(%s)"] * len(names)), names)
        previous = cursor.fetchone()
        _set_locally(cursor, EXPORT_SETTINGS)
        exported_at = timezone.now().astimezone(datetime.UTC).isoformat()
        write(
            "{"
            + layout.newline(1)
            + f'"schema_version": {json.dumps(SCHEMA_VERSION)}'
            + layout.separator(1)
            + f'"exported_at": {json.dumps(exported_at)}'
        )
        for section, model in SECTIONS.items():
            write(layout.separator(1) + json.dumps(section) + ": ")
            counts[section] = _write_section(cursor, model, write, layout)
        write(layout.newline(0) + "}")
        # Inside a caller's transaction, leave its settings as they were.
        _set_locally(cursor, dict(zip(names, previous, strict=True)))
    return counts


def export_snapshot() -> dict[str, Any]:
    """The document as a dict, read in one consistent snapshot. It holds the whole dataset
    in memory: the command streams the document instead."""
    text = io.StringIO()
    write_document(text.write)
    document: dict[str, Any] = json.loads(text.getvalue())
    return document


def _write_file(path: Path, indent: int | None) -> dict[str, int]:
    """Write the document to ``path``, replacing it only once the document is complete
    (written in place only to what is not a regular file, such as ``/dev/stdout``)."""
    if path.exists() and not path.is_file():
        with path.open("w", encoding="utf-8") as file:
            counts = write_document(file.write, indent=indent)
            file.write("\n")
        return counts
    partial = path.with_name(f".{path.name}.partial")
    try:
        with partial.open("w", encoding="utf-8") as file:
            counts = write_document(file.write, indent=indent)
            file.write("\n")
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return counts


class Command(BaseCommand):
    help = (
        "Write every organisation, source, bill (with its stages), Act, provision, "
        "commencement, strategy, measure (with the provisions carrying it), status event "
        "(with its citations) and funding line as one JSON document, for import_data to "
        "load into another database."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--output",
            "-o",
            type=Path,
            help="File to write (default: standard output).",
        )
        parser.add_argument(
            "--indent", type=int, default=2, help="Indentation of the JSON (default 2)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        indent: int | None = options["indent"] or None
        output: Path | None = options["output"]
        if output is None:
            write_document(lambda text: self.stdout.write(text, ending=""), indent=indent)
            self.stdout.write("\n", ending="")
            return
        counts = _write_file(output, indent)
        summary = ", ".join(f"{counts[section]} {section}" for section in SECTIONS)
        self.stderr.write(f"Wrote {summary} to {output}")
