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
"""

from __future__ import annotations

import datetime
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
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


def _value(obj: models.Model, field: models.Field[Any, Any]) -> Any:
    if is_user_reference(field):
        user = getattr(obj, field.name)
        return None if user is None else user.get_username()
    value = getattr(obj, field.attname)
    if value is None:
        return None
    if isinstance(value, datetime.datetime):
        return value.astimezone(datetime.UTC).isoformat()
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, list | tuple):
        return list(value)
    return value


def _row(obj: models.Model, fields: list[models.Field[Any, Any]]) -> dict[str, Any]:
    return {field.name: _value(obj, field) for field in fields}


def _section(model: type[models.Model]) -> list[dict[str, Any]]:
    queryset = model._default_manager.order_by("pk")
    if model is StatusEvent:
        queryset = queryset.select_related("recorded_by").prefetch_related(
            models.Prefetch("citations", EventCitation.objects.order_by("pk"))
        )
    elif model is FundingLine:
        queryset = queryset.select_related("recorded_by")
    commenced: dict[int, list[int]] = {}
    if model is Commencement:
        for commencement_id, provision_id in CommencedProvision._default_manager.order_by(
            "commencement_id", "provision_id"
        ).values_list("commencement_id", "provision_id"):
            commenced.setdefault(commencement_id, []).append(provision_id)
    fields = exported_fields(model)
    rows = []
    for obj in queryset:
        row = _row(obj, fields)
        if model is StatusEvent:
            citation_fields = exported_fields(EventCitation)
            row[CITATIONS] = [_row(c, citation_fields) for c in obj.citations.all()]  # type: ignore[attr-defined]
        elif model is Commencement:
            row[COMMENCED] = commenced.get(obj.pk, [])
        rows.append(row)
    return rows


def export_snapshot() -> dict[str, Any]:
    """The document, read in one consistent snapshot of the database."""
    connection = connections[DEFAULT_DB_ALIAS]
    fresh_transaction = not connection.in_atomic_block
    with transaction.atomic():
        if fresh_transaction:
            # The first statement of the transaction: every section sees the same data
            # even while the application keeps writing.
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        document: dict[str, Any] = {
            "schema_version": SCHEMA_VERSION,
            "exported_at": timezone.now().astimezone(datetime.UTC).isoformat(),
        }
        for section, model in SECTIONS.items():
            document[section] = _section(model)
    return document


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
        document = export_snapshot()
        text = json.dumps(document, indent=options["indent"] or None, ensure_ascii=False)
        output: Path | None = options["output"]
        if output is None:
            self.stdout.write(text)
            return
        output.write_text(text + "\n", encoding="utf-8")
        counts = ", ".join(f"{len(document[section])} {section}" for section in SECTIONS)
        self.stderr.write(f"Wrote {counts} to {output}")
