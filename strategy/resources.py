"""Bulk import and export (CSV or XLSX) through django-import-export: the base every
resource of the project shares, the base of those whose file is checked and written as a
whole, and sources. Rows are written through the services, like the admin's forms and the
API."""

from __future__ import annotations

import decimal
import functools
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from diff_match_patch import diff_match_patch  # type: ignore[import-untyped]
from django.core.exceptions import ValidationError
from django.db import models
from django.db.transaction import TransactionManagementError
from django.utils.encoding import force_str
from django.utils.safestring import SafeString
from import_export import fields, resources, widgets
from import_export.instance_loaders import ModelInstanceLoader
from import_export.results import Error, Result, RowResult
from import_export.utils import get_related_model
from import_export.widgets import ForeignKeyWidget

from strategy import services
from strategy.models import Source

logger = logging.getLogger(__name__)

# How a strftime format reads to someone filling in a spreadsheet.
FORMAT_WORDS = {"%Y": "YYYY", "%m": "MM", "%d": "DD", "%y": "YY", "%b": "Mon", "%B": "Month"}


def format_in_words(strftime_format: str) -> str:
    """“%Y-%m-%d” → “YYYY-MM-DD”."""
    for code, words in FORMAT_WORDS.items():
        strftime_format = strftime_format.replace(code, words)
    return strftime_format


class DateColumnWidget(widgets.DateWidget):
    """A date column whose error names the format expected (the first it reads, the one
    its export writes) instead of “Value could not be parsed using defined formats”."""

    def clean(self, value: Any, row: Any = None, **kwargs: Any) -> Any:
        try:
            return super().clean(value, row, **kwargs)
        except ValueError:
            expected = format_in_words(self.formats[0])
            raise ValueError(
                f"“{value}” is not a date: write dates as {expected}, e.g. 2018-04-09."
            ) from None


class AmountColumnWidget(widgets.DecimalWidget):
    """A money column whose error says how to write an amount."""

    def clean(self, value: Any, row: Any = None, **kwargs: Any) -> Any:
        try:
            return super().clean(value, row, **kwargs)
        except (ValueError, decimal.InvalidOperation):
            raise ValueError(
                f"“{value}” is not an amount: write digits with a point before the pence and "
                "no currency sign, e.g. 1500000.00."
            ) from None


class TrackerResource(resources.ModelResource):
    """Every row is checked by the model (``full_clean``) in the preview; an import with
    any invalid row writes nothing; a row that changes nothing is skipped and said so.
    A date or amount that cannot be read is reported with the format expected."""

    WIDGETS_MAP = {
        **resources.ModelResource.WIDGETS_MAP,
        "DateField": DateColumnWidget,
        "DecimalField": AmountColumnWidget,
    }

    class Meta:
        clean_model_instances = True
        skip_unchanged = True
        report_skipped = True
        use_transactions = True


class FileForeignKeyWidget(ForeignKeyWidget):
    """A column naming related objects (by ``field``), read for a whole file at once:
    ``load`` fetches every object the column names in one query, and each row's value is
    then found among them; a name that matches nothing raises the ``DoesNotExist`` the
    database's ``get()`` raises, as the row-by-row widget does. Not loaded, it asks the
    database for each row."""

    def __init__(self, model: type[models.Model], field: str = "pk", **kwargs: Any) -> None:
        super().__init__(model, field, **kwargs)
        self.loaded: dict[Any, models.Model] | None = None

    def _key(self, value: Any) -> Any:
        """The value as the database compares it (``5.0`` from a spreadsheet cell is 5)."""
        meta = self.model._meta
        field = meta.pk if self.field == "pk" else meta.get_field(self.field)
        return field.to_python(value)

    def load(self, values: Iterable[Any]) -> None:
        keys = set()
        for value in values:
            if value in (None, ""):
                continue
            try:
                keys.add(self._key(value))
            except ValidationError:
                continue  # the row's own look-up says what is wrong with it
        found = self.get_queryset(None, None).filter(**{f"{self.field}__in": keys})
        self.loaded = {getattr(obj, self.field): obj for obj in found}

    def get_instance_by_lookup_fields(self, value: Any, row: Any, **kwargs: Any) -> Any:
        if self.loaded is None:
            return super().get_instance_by_lookup_fields(value, row, **kwargs)
        try:
            key = self._key(value)
        except ValidationError:
            return super().get_instance_by_lookup_fields(value, row, **kwargs)
        if key in self.loaded:
            return self.loaded[key]
        raise self.model.DoesNotExist(
            f"{self.model._meta.object_name} matching query does not exist."
        )


def slug_column(name: str, model: type[models.Model]) -> fields.Field:
    """A column naming a related object by its slug."""
    return fields.Field(
        attribute=name, column_name=name, widget=FileForeignKeyWidget(model, "slug")
    )


def read_only_column(name: str) -> fields.Field:
    """A column that is exported for reading and never imported."""
    return fields.Field(attribute=name, column_name=name, readonly=True)


class FileInstanceLoader(ModelInstanceLoader):
    """The stored objects a file's rows name by their import id (a slug, an id), read in
    one query. A row whose id cannot be read gets its own error when it is looked up, as
    with the row-by-row loader."""

    def __init__(self, resource: Any, dataset: Any = None) -> None:
        super().__init__(resource, dataset)
        self.field = resource.fields[resource.get_import_id_fields()[0]]
        keys = set()
        if dataset is not None and self.field.column_name in (dataset.headers or ()):
            for value in dataset[self.field.column_name]:
                try:
                    keys.add(self.field.widget.clean(value))
                except (ValueError, ArithmeticError):
                    continue
        keys.discard(None)
        found = self.get_queryset().filter(**{f"{self.field.attribute}__in": keys})
        self.stored = {self.field.get_value(obj): obj for obj in found}

    def get_instance(self, row: Any) -> Any:
        return self.stored.get(self.field.clean(row))


def _pretty(text: str) -> str:
    # As diff_match_patch's diff_prettyHtml writes a piece of text.
    return (
        text.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace("\n", "&para;<br>")
    )


class FileDiff(resources.Diff):
    """The preview's comparison of a row with what is stored, as django-import-export's
    ``Diff`` shows it, without running the text diff where there is nothing to compare (a
    value unchanged, or the value of a new row), and reading a new object's values once a
    file rather than once a row."""

    def __init__(self, resource: Any, instance: Any, new: bool) -> None:
        if new and getattr(resource, "new_values", None) is not None:
            self.left: list[Any] = resource.new_values
            self.right: list[Any] = []
            self.new = new
            return
        super().__init__(resource, instance, new)
        if new:
            resource.new_values = self.left

    def as_html(self) -> list[str]:
        shown: list[str] = []
        for before, after in zip(self.left, self.right, strict=False):
            old, new = force_str(before), force_str(after)
            if old == new:
                shown.append(SafeString(f"<span>{_pretty(new)}</span>") if new else SafeString())
            elif self.new or not old:
                shown.append(
                    SafeString(f'<ins style="background:#e6ffe6;">{_pretty(new)}</ins>')
                    if new
                    else SafeString()
                )
            else:
                differ = diff_match_patch()
                changes = differ.diff_main(old, new)
                differ.diff_cleanupSemantic(changes)
                shown.append(SafeString(differ.diff_prettyHtml(changes)))
        return shown


@dataclass
class FileRow:
    """A row of a file read for an import as a whole: its number in the file (from 1), its
    cells, the object it makes (a new one, or the stored one with the row's values), and
    what could not be read from its cells (``refused``)."""

    number: int
    cells: Mapping[str, Any]
    instance: Any
    is_new: bool
    refused: ValidationError | None
    result: RowResult


class WholeFileResource(TrackerResource):
    """An import whose file is checked and written as a whole, as a researcher expects of a
    spreadsheet: every row is read first (the related objects a column names in one query
    per column, the stored objects the rows change in one query), then the whole set is
    checked by the services with a statement per rule, every invalid row reported with
    its errors, and written with a statement per table, in the import's transaction, only
    if every row is valid (``write_rows``). The preview does the same and rolls back.

    Subclasses implement ``write_rows`` with the services' set-based functions."""

    class Meta:
        # Rows are collected, not saved one by one (and so need no savepoint each).
        use_bulk = True
        instance_loader_class = FileInstanceLoader

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.file_rows: list[FileRow] = []
        self.import_fields: list[fields.Field] | None = None
        self.rows_by_key: dict[tuple[Any, ...], int] = {}
        self.new_values: list[Any] | None = None

    @classmethod
    def get_diff_class(cls) -> type[resources.Diff]:
        return FileDiff

    def get_import_fields(self) -> list[fields.Field]:
        # The same for every row of a file: worked out once.
        if self.import_fields is None:
            self.import_fields = super().get_import_fields()
        return self.import_fields

    @classmethod
    def get_fk_widget(cls, field: Any) -> Any:
        return functools.partial(FileForeignKeyWidget, model=get_related_model(field))

    def get_queryset(self) -> models.QuerySet[Any]:
        # The stored rows come with the objects their columns name, for the preview's
        # comparison of each row with what is stored.
        relations = {field.name for field in self._meta.model._meta.fields if field.is_relation}
        related = [
            field.attribute
            for field in self.get_import_fields()
            if isinstance(field.widget, ForeignKeyWidget) and field.attribute in relations
        ]
        queryset = super().get_queryset()
        return queryset.select_related(*related) if related else queryset

    def write_rows(
        self, rows: Sequence[FileRow], *, user: Any, write: bool
    ) -> dict[int, ValidationError]:
        """Check ``rows`` (those read without an exception) as a whole and, with
        ``write``, write them if every one is valid, setting each ``instance``'s primary
        key. Return the errors of the invalid rows by their index in ``rows`` (nothing was
        written then)."""
        raise NotImplementedError

    def before_import(self, dataset: Any, **kwargs: Any) -> None:
        super().before_import(dataset, **kwargs)
        self.file_rows = []
        self.rows_by_key = {}
        self.new_values = None
        for field in self.get_import_fields():
            if isinstance(field.widget, FileForeignKeyWidget) and field.column_name in (
                dataset.headers or ()
            ):
                field.widget.load(dataset[field.column_name])

    def import_row(self, row: Any, instance_loader: Any, **kwargs: Any) -> RowResult:
        """Read one row: find or make its object, set the row's values on it (what cannot be
        read is kept as the row's refusal) and keep it for ``after_import``, which checks
        and writes the whole file. As django-import-export's own ``import_row`` less the
        per-row check and save, comparing the stored values by value rather than against a
        deep copy of the stored object, and leaving the comparison shown by the preview out
        of the confirm step."""
        row_result = self.get_row_result_class()()
        if self._meta.store_row_values:
            row_result.row_values = row
        try:
            self.before_import_row(row, **kwargs)
            self.refuse_repeated(row, kwargs["row_number"])
            instance, new = self.get_or_init_instance(instance_loader, row)
            self.after_init_instance(instance, new, row, **kwargs)
            row_result.import_type = (
                RowResult.IMPORT_TYPE_NEW if new else RowResult.IMPORT_TYPE_UPDATE
            )
            import_fields = self.get_import_fields()
            stored = None if new else [field.get_value(instance) for field in import_fields]
            # The comparison with what is stored is for the preview to show; the confirm
            # step writes and shows nothing row by row.
            diff = self.get_diff_class()(self, instance, new) if kwargs.get("dry_run") else None
            refused: dict[str, Any] = {}
            try:
                self.import_instance(instance, row, **kwargs)
            except ValidationError as error:
                refused = error.update_error_dict({})
            unchanged = (
                self._meta.skip_unchanged
                and not refused
                and stored == [field.get_value(instance) for field in import_fields]
            )
            if unchanged:
                row_result.import_type = RowResult.IMPORT_TYPE_SKIP
            else:
                self.file_rows.append(
                    FileRow(
                        kwargs["row_number"],
                        row,
                        instance,
                        new,
                        ValidationError(refused) if refused else None,
                        row_result,
                    )
                )
            row_result.add_instance_info(instance)
            if self._meta.store_instance or kwargs.get("retain_instance_in_row_result"):
                row_result.instance = instance
            if diff is not None:
                diff.compare_with(self, instance)
                row_result.diff = diff.as_html()
            self.after_import_row(row, row_result, **kwargs)
        except ValidationError as error:
            row_result.import_type = RowResult.IMPORT_TYPE_INVALID
            row_result.validation_error = error
        except Exception as error:
            row_result.import_type = RowResult.IMPORT_TYPE_ERROR
            if not isinstance(error, TransactionManagementError):
                logger.debug(error, exc_info=True)
            row_result.errors.append(Error(error, row=row, number=kwargs["row_number"]))
        return row_result

    def refuse_repeated(self, row: Any, number: int) -> None:
        """Refuse a row naming (by its import id: a slug, an id) what an earlier row of
        the file names: the file is checked and written as a whole, so each object has one
        row."""
        ids = self.get_import_id_fields()
        try:
            key = tuple(
                self.fields[name].clean(row) for name in ids if self.fields[name].column_name in row
            )
        except (ValueError, ArithmeticError):
            return  # the look-up of the row says what is wrong with its id
        if not key or all(value in (None, "") for value in key):
            return
        first = self.rows_by_key.setdefault(key, number)
        if first != number:
            name = self._meta.model._meta.verbose_name
            raise ValidationError(
                {
                    self.fields[ids[0]].column_name: (
                        f"Row {first} of the file is about the same {name}: give each {name} "
                        "one row."
                    )
                }
            )

    def after_import(self, dataset: Any, result: Result, **kwargs: Any) -> None:
        rows, self.file_rows = self.file_rows, []
        if rows:
            # A row that could not be read at all (a name matching nothing) fails the file:
            # the others are still checked, for the preview to show every error at once.
            failed = result.has_errors() or result.has_validation_errors()
            errors = self.write_rows(rows, user=kwargs.get("user"), write=not failed)
            for index, error in errors.items():
                refuse(result, rows[index], error)
            if not errors and not failed:
                for row in rows:
                    row.result.add_instance_info(row.instance)
        super().after_import(dataset, result, **kwargs)


def refuse(result: Result, row: FileRow, error: ValidationError) -> None:
    """Report ``row`` invalid with ``error``, as a row whose ``full_clean`` failed is."""
    row_result = row.result
    result.totals[row_result.import_type] -= 1
    row_result.import_type = RowResult.IMPORT_TYPE_INVALID
    row_result.validation_error = error
    result.totals[RowResult.IMPORT_TYPE_INVALID] += 1
    result.append_invalid_row(row.number, dict(row.cells), error)


class SourceResource(TrackerResource):
    """Sources are matched by their URL: importing a file twice updates, never duplicates."""

    class Meta:
        model = Source
        import_id_fields = ("url",)
        # Every field a researcher writes (the timestamps are the server's).
        fields = tuple(
            field.name
            for field in Source._meta.concrete_fields
            if field.editable and not field.primary_key
        )
        export_order = fields

    def do_instance_save(self, instance: Source, is_create: bool) -> None:
        values: dict[str, Any] = {name: getattr(instance, name) for name in self._meta.fields}
        if is_create:
            instance.pk = services.source_create(fields=values).pk
        else:
            services.source_update(source=Source.objects.get(pk=instance.pk), fields=values)
