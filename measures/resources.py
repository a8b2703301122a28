"""Bulk import and export of measures and funding lines, and import of status events
(CSV or XLSX). Each file is checked and written as a whole (``WholeFileResource``) by the
services' set-based functions, which apply the same rules as the API and the admin forms:
the preview shows every invalid row with its errors, and an import with any invalid row
writes nothing."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models.expressions import DatabaseDefault
from import_export import fields, widgets
from import_export.instance_loaders import ModelInstanceLoader

from measures.models import FundingLine, Measure, StatusEvent
from measures.services import (
    EVENT_FIELDS,
    FUNDING_LINE_WRITABLE_FIELDS,
    MEASURE_IMPORT_FIELDS,
    CitationInput,
    InvalidRowsError,
    RowWrite,
    funding_line_check_many,
    funding_line_write_many,
    measure_check_many,
    measure_write_many,
    status_event_check_many,
    status_event_record_many,
)
from strategy.models import Organisation, Source, Strategy
from strategy.resources import (
    FileForeignKeyWidget,
    FileRow,
    WholeFileResource,
    read_only_column,
    slug_column,
)

MEASURE_STATUS_FIELDS = ("stage", "stage_since", "verdict", "confidence", "version")


def _values(instance: Any, names: Sequence[str]) -> dict[str, Any]:
    """The values the row set on ``instance`` (a relation left empty as None, which the
    model's checks refuse in words if it is required)."""
    values = {}
    for name in names:
        field = instance._meta.get_field(name)
        empty = field.many_to_one and getattr(instance, field.attname) is None
        values[name] = None if empty else getattr(instance, name)
    return values


def _row_writes(rows: Sequence[FileRow], names: Sequence[str]) -> list[RowWrite]:
    return [
        RowWrite(
            fields=_values(row.instance, names),
            target=None if row.is_new else row.instance.pk,
        )
        for row in rows
    ]


def _refused(rows: Sequence[FileRow]) -> dict[int, ValidationError]:
    return {index: row.refused for index, row in enumerate(rows) if row.refused is not None}


def _written_or_errors(
    rows: Sequence[FileRow], write: Callable[[], Sequence[Any]]
) -> dict[int, ValidationError]:
    """Run ``write``; give each row's object the primary key it was stored with, or return
    the errors of the rows refused."""
    try:
        written = write()
    except InvalidRowsError as invalid:
        return invalid.errors
    for row, stored in zip(rows, written, strict=True):
        row.instance.pk = stored.pk
    return {}


class MeasureResource(WholeFileResource):
    """Measures are matched by slug. The status columns are exported for reading but never
    imported: a measure's status only changes by recording an event."""

    strategy = slug_column("strategy", Strategy)
    lead_organisation = slug_column("lead_organisation", Organisation)
    stage = read_only_column("stage")
    stage_since = read_only_column("stage_since")
    verdict = read_only_column("verdict")
    confidence = read_only_column("confidence")
    version = read_only_column("version")

    class Meta:
        model = Measure
        import_id_fields = ("slug",)
        fields = ("slug", *MEASURE_IMPORT_FIELDS, *MEASURE_STATUS_FIELDS)
        export_order = fields

    def write_rows(
        self, rows: Sequence[FileRow], *, user: Any, write: bool
    ) -> dict[int, ValidationError]:
        # A new measure is created with its slug; a stored one is matched by it.
        writes = [
            RowWrite(
                fields=_values(
                    row.instance, (("slug",) if row.is_new else ()) + MEASURE_IMPORT_FIELDS
                ),
                target=None if row.is_new else row.instance.pk,
            )
            for row in rows
        ]
        if not write:
            return measure_check_many(rows=writes, refused=_refused(rows))
        return _written_or_errors(
            rows, lambda: measure_write_many(rows=writes, refused=_refused(rows))
        )


class FundingLineResource(WholeFileResource):
    """Funding lines are matched by id; leave ``id`` empty to add a line, which is recorded
    as the importing researcher's."""

    strategy = slug_column("strategy", Strategy)
    measure = slug_column("measure", Measure)
    funder = slug_column("funder", Organisation)
    recipient = slug_column("recipient", Organisation)
    source = fields.Field(
        attribute="source", column_name="source", widget=FileForeignKeyWidget(Source, "url")
    )

    class Meta:
        model = FundingLine
        import_id_fields = ("id",)
        fields = ("id", *FUNDING_LINE_WRITABLE_FIELDS)
        export_order = fields

    def write_rows(
        self, rows: Sequence[FileRow], *, user: Any, write: bool
    ) -> dict[int, ValidationError]:
        writes = _row_writes(rows, FUNDING_LINE_WRITABLE_FIELDS)
        if not write:
            return funding_line_check_many(rows=writes, recorded_by=user, refused=_refused(rows))
        return _written_or_errors(
            rows,
            lambda: funding_line_write_many(rows=writes, recorded_by=user, refused=_refused(rows)),
        )


class ExtentWidget(widgets.Widget):
    """The nations an event is limited to, in one cell: “england, wales”; empty: not
    limited."""

    def clean(self, value: Any, row: Any = None, **kwargs: Any) -> list[str]:
        if value in (None, ""):
            return []
        return [nation.strip() for nation in str(value).split(",") if nation.strip()]

    def render(self, value: Any, obj: Any = None, **kwargs: Any) -> str:
        return ", ".join(value or [])


# The columns of an event (what status_event_record takes of one, its citations apart),
# then those of the one citation a row carries (its source named by URL, the passage quoted
# or a locator within the source).
EVENT_COLUMNS = tuple(name for name in EVENT_FIELDS if name != "citations")
CITATION_COLUMNS = ("source", "quote", "locator")


def _as_columns(error: ValidationError) -> ValidationError:
    """The service's errors under the import's columns: the citation's fields under their
    own column, and “cite at least one source” under ``source``."""
    columns: dict[str, list[Any]] = {}
    for key, messages in error.update_error_dict({}).items():
        column = key.rsplit(".", 1)[-1] if key.startswith("citations.") else key
        columns.setdefault("source" if column == "citations" else column, []).extend(messages)
    return ValidationError(columns)


class StatusEventResource(WholeFileResource):
    """Status events, each with one citation: every row records a new event, as
    ``status_event_record`` does (the moves are checked per measure in the order of the
    file and with the measure's stored events; a refused row writes nothing). Events are
    never updated: a correction is recorded from the measure's page."""

    measure = slug_column("measure", Measure)
    extent = fields.Field(attribute="extent", column_name="extent", widget=ExtentWidget())
    source = fields.Field(
        attribute="source", column_name="source", widget=FileForeignKeyWidget(Source, "url")
    )
    quote = fields.Field(attribute="quote", column_name="quote", widget=widgets.CharWidget())
    locator = fields.Field(attribute="locator", column_name="locator", widget=widgets.CharWidget())

    class Meta:
        model = StatusEvent
        fields = (*EVENT_COLUMNS, *CITATION_COLUMNS)
        import_id_fields = ()
        force_init_instance = True
        skip_unchanged = False
        instance_loader_class = ModelInstanceLoader

    @staticmethod
    def event(row: FileRow) -> dict[str, Any]:
        """The row as ``status_event_record``'s arguments, less the cells not read."""
        refused = set(row.refused.update_error_dict({})) if row.refused else set()
        instance = row.instance
        given: dict[str, Any] = {
            name: getattr(instance, name)
            for name in EVENT_COLUMNS
            if name not in refused
            and name != "measure"
            and not isinstance(getattr(instance, name), DatabaseDefault)
        }
        given["measure"] = instance.measure if instance.measure_id is not None else None
        source = getattr(instance, "source", None)
        given["citations"] = (
            [
                CitationInput(
                    source=source,
                    quote=getattr(instance, "quote", None) or "",
                    locator=getattr(instance, "locator", None) or "",
                )
            ]
            if source is not None
            else []
        )
        return given

    def write_rows(
        self, rows: Sequence[FileRow], *, user: Any, write: bool
    ) -> dict[int, ValidationError]:
        events = [self.event(row) for row in rows]
        refused = _refused(rows)
        if not write:
            errors: Mapping[int, ValidationError] = status_event_check_many(
                events=events, recorded_by=user, refused=refused
            )
        else:
            errors = _written_or_errors(
                rows,
                lambda: status_event_record_many(events=events, recorded_by=user, refused=refused),
            )
        return {index: _as_columns(error) for index, error in errors.items()}
