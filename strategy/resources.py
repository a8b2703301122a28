"""Bulk import and export of sources (CSV or XLSX) through django-import-export."""

from __future__ import annotations

from import_export import resources

from strategy.models import Source


class SourceResource(resources.ModelResource):
    """Sources are matched by their URL: importing a file twice updates, never duplicates."""

    class Meta:
        model = Source
        import_id_fields = ("url",)
        fields = (
            "url",
            "title",
            "publisher",
            "kind",
            "published_on",
            "archived_url",
            "external_id",
            "note",
        )
        export_order = fields
        clean_model_instances = True
        skip_unchanged = True
        report_skipped = True
        use_transactions = True
