"""Bulk import and export of measures and funding lines (CSV or XLSX). Rows are written
through the same services as the API and the admin forms, and an import with any invalid
row writes nothing."""

from __future__ import annotations

from typing import Any

from import_export import fields
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
from strategy.resources import TrackerResource, read_only_column, slug_column

# A measure is matched by its slug; the rest of what may be written is imported.
MEASURE_IMPORT_FIELDS = tuple(name for name in MEASURE_WRITABLE_FIELDS if name != "slug")
MEASURE_STATUS_FIELDS = ("stage", "stage_since", "verdict", "confidence", "version")


class MeasureResource(TrackerResource):
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

    def do_instance_save(self, instance: Measure, is_create: bool) -> None:
        values: dict[str, Any] = {name: getattr(instance, name) for name in MEASURE_IMPORT_FIELDS}
        if is_create:
            created = measure_create(fields={"slug": instance.slug, **values})
            instance.pk = created.pk
        else:
            measure_update(measure=Measure.objects.get(pk=instance.pk), fields=values)


class FundingLineResource(TrackerResource):
    """Funding lines are matched by id; leave ``id`` empty to add a line."""

    strategy = slug_column("strategy", Strategy)
    measure = slug_column("measure", Measure)
    funder = slug_column("funder", Organisation)
    recipient = slug_column("recipient", Organisation)
    source = fields.Field(
        attribute="source", column_name="source", widget=ForeignKeyWidget(Source, "url")
    )

    class Meta:
        model = FundingLine
        import_id_fields = ("id",)
        fields = ("id", *FUNDING_LINE_WRITABLE_FIELDS)
        export_order = fields

    def do_instance_save(self, instance: FundingLine, is_create: bool) -> None:
        values = {name: getattr(instance, name) for name in FUNDING_LINE_WRITABLE_FIELDS}
        if is_create:
            instance.pk = funding_line_create(fields=values).pk
        else:
            funding_line_update(line=FundingLine.objects.get(pk=instance.pk), fields=values)
