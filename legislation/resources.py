"""Bulk import and export of the law's path (CSV or XLSX), matched by slug and written
through ``legislation.services``, as the admin's forms and the seed loader write."""

from __future__ import annotations

from typing import Any, ClassVar

from django.db import models
from import_export import fields
from import_export.widgets import ForeignKeyWidget, ManyToManyWidget

from legislation import services
from legislation.models import Act, Bill, Commencement, Provision
from strategy.models import Source
from strategy.resources import TrackerResource, slug_column


def _writable(model: type[models.Model]) -> tuple[str, ...]:
    return tuple(
        field.name
        for field in model._meta.concrete_fields
        if field.editable and not field.primary_key and field.name != "updated_at"
    )


def source_column() -> fields.Field:
    """A column naming a source by its address."""
    return fields.Field(
        attribute="source", column_name="source", widget=ForeignKeyWidget(Source, "url")
    )


class LegislationResource(TrackerResource):
    """Rows matched by slug, written through the services."""

    written: ClassVar[tuple[str, ...]] = ()

    def do_instance_save(self, instance: Any, is_create: bool) -> None:
        model = type(instance)
        values = {name: getattr(instance, name) for name in self.written}
        if is_create:
            instance.pk = services.record_create(model, fields=values).pk
        else:
            services.record_update(model._default_manager.get(pk=instance.pk), fields=values)


class BillResource(LegislationResource):
    written = _writable(Bill)

    class Meta:
        model = Bill
        import_id_fields = ("slug",)
        fields = _writable(Bill)
        export_order = fields


class ActResource(LegislationResource):
    bill = slug_column("bill", Bill)
    written = _writable(Act)

    class Meta:
        model = Act
        import_id_fields = ("slug",)
        fields = _writable(Act)
        export_order = fields


class ProvisionResource(LegislationResource):
    act = slug_column("act", Act)
    source = source_column()
    written = _writable(Provision)

    class Meta:
        model = Provision
        import_id_fields = ("slug",)
        fields = _writable(Provision)
        export_order = fields


class CommencementResource(LegislationResource):
    act = slug_column("act", Act)
    source = source_column()
    provisions = fields.Field(
        attribute="provisions",
        column_name="provisions",
        widget=ManyToManyWidget(Provision, field="slug", separator=","),
    )
    written = _writable(Commencement)

    class Meta:
        model = Commencement
        import_id_fields = ("slug",)
        fields = (*_writable(Commencement), "provisions")
        export_order = fields

    def save_m2m(self, instance: Any, row: Any, **kwargs: Any) -> None:
        # Imports run in a transaction (rolled back for the preview), so the links are set
        # in both, through the service.
        provisions = self.fields["provisions"].clean(row)
        services.commencement_set_provisions(instance, provisions)
