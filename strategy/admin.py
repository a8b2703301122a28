"""Admin for organisations, sources and strategies, and the base every admin of the project
shares: saving through the services, like the API, and fields fixed once created."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from django.contrib import admin
from django.db import models
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from import_export.admin import ImportExportModelAdmin
from import_export.formats import base_formats
from import_export.results import Result, RowResult

from config.api.csv_export import neutralised_row
from strategy import services
from strategy.models import Organisation, Source, Strategy
from strategy.resources import SourceResource

# The tracker's name on every admin page, in place of "Django administration".
admin.site.site_header = "Policy Measure Tracker"
admin.site.site_title = "Policy Measure Tracker"
admin.site.index_title = "Researcher admin"


class ServiceAdminMixin:
    """An admin that writes through the app's services, as the API does: the form shapes
    the data and the service checks and saves it. Each admin names its two services in
    ``create_with`` and ``update_with``, alike by design. A field the model fixes once created
    (``fixed_once_created``, e.g. a slug) is read-only on an existing object and
    prepopulated only on a new one."""

    model: type[models.Model]

    def create_with(self, request: HttpRequest, fields: Mapping[str, Any]) -> models.Model:
        raise NotImplementedError

    def update_with(
        self, request: HttpRequest, obj: Any, fields: Mapping[str, Any], form: Any
    ) -> models.Model:
        raise NotImplementedError

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        readonly = list(super().get_readonly_fields(request, obj))  # type: ignore[misc]
        if obj is not None:
            readonly += [
                name
                for name in getattr(self.model, "fixed_once_created", ())
                if name not in readonly
            ]
        return readonly

    def get_prepopulated_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return {} if obj else super().get_prepopulated_fields(request, obj)  # type: ignore[misc]

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        stored = {field.name for field in self.model._meta.concrete_fields}
        fields = {name: value for name, value in form.cleaned_data.items() if name in stored}
        if change:
            self.update_with(request, obj, fields, form)
            return
        created = self.create_with(request, fields)
        # The admin goes on with its own object (the message, the log, the redirect).
        obj.pk = created.pk
        obj._state.adding = False


class NeutralisedExport:
    """A spreadsheet export whose cells no spreadsheet runs as formulas (``neutralise``)."""

    def export_data(self, dataset: Any, **kwargs: Any) -> Any:
        safe = type(dataset)(*map(neutralised_row, dataset), headers=dataset.headers)
        return super().export_data(safe, **kwargs)  # type: ignore[misc]


class NeutralisedCSV(NeutralisedExport, base_formats.CSV):
    pass


class NeutralisedXLSX(NeutralisedExport, base_formats.XLSX):
    pass


def import_preview_rows(result: Result) -> list[dict[str, Any]]:
    """Every row of an import's preview, in file order, with its values in the columns'
    order and its errors in words (``column: message``); django-import-export's own
    preview lists only the invalid rows when there are any."""
    invalid = {row.number: row for row in result.invalid_rows}
    rows = []
    for number, row in enumerate(result.rows, start=1):
        errors: list[str] = []
        values: Any = row.diff or []
        if row.import_type == RowResult.IMPORT_TYPE_INVALID and number in invalid:
            values = invalid[number].values
            errors = [
                f"{column}: {message}"
                for column, messages in invalid[number].field_specific_errors.items()
                for message in messages
            ] + list(invalid[number].non_field_specific_errors)
        elif row.import_type == RowResult.IMPORT_TYPE_ERROR:
            failed = (row.errors[0].row or {}) if row.errors else {}
            values = [failed.get(column, "") for column in result.diff_headers]
            errors = [str(error.error) for error in row.errors]
        rows.append(
            {"number": number, "import_type": row.import_type, "values": values, "errors": errors}
        )
    return rows


class SpreadsheetAdmin(ImportExportModelAdmin):
    """Import and export as CSV or XLSX; exported cells are never formulas. The import's
    preview shows every row, each with its errors written out beside it."""

    import_formats = [base_formats.CSV, base_formats.XLSX]
    export_formats = [NeutralisedCSV, NeutralisedXLSX]

    def import_action(self, request: HttpRequest, **kwargs: Any) -> HttpResponse:
        response = super().import_action(request, **kwargs)
        result = (getattr(response, "context_data", None) or {}).get("result")
        if result is not None:
            response.context_data["preview_rows"] = import_preview_rows(result)
        return response


@admin.register(Organisation)
class OrganisationAdmin(ServiceAdminMixin, admin.ModelAdmin):
    list_display = ["name", "slug", "kind", "updated_at"]
    list_filter = ["kind"]
    search_fields = ["name", "slug"]
    ordering = ["name"]
    prepopulated_fields = {"slug": ("name",)}
    readonly_fields = ["created_at", "updated_at"]

    def create_with(self, request: HttpRequest, fields: Mapping[str, Any]) -> Organisation:
        return services.organisation_create(fields=fields)

    def update_with(
        self, request: HttpRequest, obj: Any, fields: Mapping[str, Any], form: Any
    ) -> Organisation:
        return services.organisation_update(organisation=obj, fields=fields)


@admin.register(Source)
class SourceAdmin(ServiceAdminMixin, SpreadsheetAdmin):
    resource_classes = [SourceResource]
    list_display = ["title", "publisher", "kind", "published_on", "link"]
    list_filter = ["kind", "published_on"]
    search_fields = ["title", "url", "publisher", "external_id"]
    ordering = ["-published_on", "title"]
    date_hierarchy = "published_on"
    readonly_fields = ["created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["url", "title", "publisher", "kind", "published_on"]}),
        ("Identifiers and copies", {"fields": ["external_id", "archived_url", "note"]}),
        ("Record", {"fields": ["created_at", "updated_at"], "classes": ["collapse"]}),
    ]

    @admin.display(description="Link")
    def link(self, source: Source) -> str:
        return format_html(
            '<a href="{}" rel="noopener noreferrer" target="_blank">open</a>', source.url
        )

    def create_with(self, request: HttpRequest, fields: Mapping[str, Any]) -> Source:
        return services.source_create(fields=fields)

    def update_with(
        self, request: HttpRequest, obj: Any, fields: Mapping[str, Any], form: Any
    ) -> Source:
        return services.source_update(source=obj, fields=fields)


# A part of a strategy's admin page that another app contributes: given the request and the
# strategy, the template to render below the strategy's fields and its context.
StrategySection = Callable[[HttpRequest, Strategy], tuple[str, dict[str, Any]]]


@admin.register(Strategy)
class StrategyAdmin(ServiceAdminMixin, admin.ModelAdmin):
    change_form_template = "admin/strategy/strategy/change_form.html"
    list_display = ["title", "owner", "published_on"]
    list_filter = ["owner", "published_on"]
    search_fields = ["title", "slug", "summary"]
    autocomplete_fields = ["owner", "source"]
    list_select_related = ["owner"]
    ordering = ["-published_on"]
    readonly_fields = ["created_at", "updated_at"]
    prepopulated_fields = {"slug": ("title",)}
    # Filled by the apps that track a strategy's commitments (the measures app adds its
    # measures per stage and its money per phase); this app never imports them.
    sections: ClassVar[list[StrategySection]] = []

    def create_with(self, request: HttpRequest, fields: Mapping[str, Any]) -> Strategy:
        return services.strategy_create(fields=fields)

    def update_with(
        self, request: HttpRequest, obj: Any, fields: Mapping[str, Any], form: Any
    ) -> Strategy:
        return services.strategy_update(strategy=obj, fields=fields)

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        # Django's way of adding to a change page, as MeasureAdmin adds its timeline.
        strategy = self.get_object(request, object_id)
        context = dict(extra_context or {})
        if strategy is not None:
            context["sections"] = [
                self._render(request, section(request, strategy)) for section in self.sections
            ]
        return super().change_view(request, object_id, form_url, extra_context=context)

    @staticmethod
    def _render(request: HttpRequest, section: tuple[str, dict[str, Any]]) -> SafeString:
        template, context = section
        return mark_safe(render_to_string(template, context, request))  # noqa: S308 - a template's output
