"""Bulk import and export of measures and funding lines (CSV or XLSX). Rows are written
through the same services as the API and the admin forms, and an import with any invalid
row writes nothing."""

from __future__ import annotations

from typing import Any

from import_export import fields, resources
from import_export.widgets import ForeignKeyWidget

from measures.models import FundingLine, Measure
from measures.services import (
    FUNDING_LINE_WRITABLE_FIELDS,
    MEASURE_WRITABLE_FIELDS,
    funding_line_create,
    funding_line_update,
    measure_create,
    measure_update,
)
from strategy.models import Organisation, Source, Strategy

# A measure is matched by its slug; the rest of what may be written is imported.
MEASURE_IMPORT_FIELDS = tuple(name for name in MEASURE_WRITABLE_FIELDS if name != "slug")


class MeasureResource(resources.ModelResource):
    """Measures are matched by slug. The status columns are exported for reading but never
    imported: a measure's status only changes by recording an event."""

    strategy = fields.Field(
        attribute="strategy", column_name="strategy", widget=ForeignKeyWidget(Strategy, "slug")
    )
    lead_organisation = fields.Field(
        attribute="lead_organisation",
        column_name="lead_organisation",
        widget=ForeignKeyWidget(Organisation, "slug"),
    )
    stage = fields.Field(attribute="stage", column_name="stage", readonly=True)
    stage_since = fields.Field(attribute="stage_since", column_name="stage_since", readonly=True)
    verdict = fields.Field(attribute="verdict", column_name="verdict", readonly=True)
    confidence = fields.Field(attribute="confidence", column_name="confidence", readonly=True)
    version = fields.Field(attribute="version", column_name="version", readonly=True)

    class Meta:
        model = Measure
        import_id_fields = ("slug",)
        fields = (
            "slug",
            *MEASURE_IMPORT_FIELDS,
            "stage",
            "stage_since",
            "verdict",
            "confidence",
            "version",
        )
        export_order = fields
        clean_model_instances = True
        skip_unchanged = True
        report_skipped = True
        use_transactions = True

    def do_instance_save(self, instance: Measure, is_create: bool) -> None:
        values: dict[str, Any] = {name: getattr(instance, name) for name in MEASURE_IMPORT_FIELDS}
        if is_create:
            created = measure_create(fields={"slug": instance.slug, **values})
            instance.pk = created.pk
        else:
            measure_update(measure=Measure.objects.get(pk=instance.pk), fields=values)


class FundingLineResource(resources.ModelResource):
    """Funding lines are matched by id; leave ``id`` empty to add a line."""

    strategy = fields.Field(
        attribute="strategy", column_name="strategy", widget=ForeignKeyWidget(Strategy, "slug")
    )
    measure = fields.Field(
        attribute="measure", column_name="measure", widget=ForeignKeyWidget(Measure, "slug")
    )
    funder = fields.Field(
        attribute="funder", column_name="funder", widget=ForeignKeyWidget(Organisation, "slug")
    )
    recipient = fields.Field(
        attribute="recipient",
        column_name="recipient",
        widget=ForeignKeyWidget(Organisation, "slug"),
    )
    source = fields.Field(
        attribute="source", column_name="source", widget=ForeignKeyWidget(Source, "url")
    )

    class Meta:
        model = FundingLine
        import_id_fields = ("id",)
        fields = ("id", *FUNDING_LINE_WRITABLE_FIELDS)
        export_order = fields
        clean_model_instances = True
        skip_unchanged = True
        report_skipped = True
        use_transactions = True

    def do_instance_save(self, instance: FundingLine, is_create: bool) -> None:
        values = {name: getattr(instance, name) for name in FUNDING_LINE_WRITABLE_FIELDS}
        if is_create:
            instance.pk = funding_line_create(fields=values).pk
        else:
            funding_line_update(line=FundingLine.objects.get(pk=instance.pk), fields=values)
