"""Bulk import and export of sources (CSV or XLSX) through django-import-export, writing
through the services like the admin's forms."""

from __future__ import annotations

from import_export import resources

from strategy.models import Source
from strategy.services import source_create, source_update


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

    def do_instance_save(self, instance: Source, is_create: bool) -> None:
        values = {name: getattr(instance, name) for name in self._meta.fields}
        if is_create:
            instance.pk = source_create(fields=values).pk
        else:
            source_update(source=Source.objects.get(pk=instance.pk), fields=values)
