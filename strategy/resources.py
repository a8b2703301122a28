"""Bulk import and export (CSV or XLSX) through django-import-export: the base every
resource of the project shares, and sources. Rows are written through the services, like
the admin's forms and the API."""

from __future__ import annotations

import decimal
from typing import Any

from django.db import models
from import_export import fields, resources, widgets
from import_export.widgets import ForeignKeyWidget

from strategy import services
from strategy.models import Source

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


def slug_column(name: str, model: type[models.Model]) -> fields.Field:
    """A column naming a related object by its slug."""
    return fields.Field(attribute=name, column_name=name, widget=ForeignKeyWidget(model, "slug"))


def read_only_column(name: str) -> fields.Field:
    """A column that is exported for reading and never imported."""
    return fields.Field(attribute=name, column_name=name, readonly=True)


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
