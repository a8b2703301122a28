"""The researchers' admin of the law's path: bills with their stages, Acts, provisions and
commencements. Every write goes through ``legislation.services``, as the seed loader's and
the importers' do."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.contrib import admin
from django.db import models
from django.forms import BaseInlineFormSet, ModelForm
from django.http import HttpRequest

from legislation import services
from legislation.models import Act, Bill, BillStage, Commencement, Provision
from legislation.resources import ActResource, BillResource, CommencementResource, ProvisionResource
from strategy.admin import ServiceAdminMixin, SpreadsheetAdmin


class LegislationAdmin(ServiceAdminMixin, SpreadsheetAdmin):
    """Saves the object, its inline rows and its many-to-many links through the services."""

    def create_with(self, request: HttpRequest, fields: Mapping[str, Any]) -> models.Model:
        return services.record_create(self.model, fields=fields)

    def update_with(
        self, request: HttpRequest, obj: Any, fields: Mapping[str, Any], form: Any
    ) -> models.Model:
        return services.record_update(obj, fields=fields)

    def save_formset(
        self, request: HttpRequest, form: ModelForm, formset: BaseInlineFormSet, change: bool
    ) -> None:
        parent = form.instance
        model: Any = formset.model
        stored = {field.name for field in model._meta.concrete_fields}
        for inline in formset.forms:
            if not inline.has_changed() and inline.instance.pk is None:
                continue
            if formset.can_delete and formset._should_delete_form(inline):  # type: ignore[attr-defined]
                if inline.instance.pk is not None:
                    inline.instance.delete()
                continue
            fields = {
                name: value
                for name, value in inline.cleaned_data.items()
                if name in stored and name not in ("id", formset.fk.name)
            }
            if inline.instance.pk is None:
                services.record_create(model, fields={**fields, formset.fk.name: parent})
            elif inline.has_changed():
                services.record_update(inline.instance, fields=fields)


class BillStageInline(admin.TabularInline):
    model = BillStage
    fields = ("on", "house", "stage", "source", "quote", "locator")
    autocomplete_fields = ["source"]
    extra = 0
    ordering = ["on", "id"]


@admin.register(Bill)
class BillAdmin(LegislationAdmin):
    resource_classes = [BillResource]
    list_display = ["title", "session", "parliament_bill_id", "enacted_as"]
    list_filter = ["session"]
    search_fields = ["title", "slug", "session"]
    ordering = ["-session", "title"]
    prepopulated_fields = {"slug": ("title", "session")}
    readonly_fields = ["created_at", "updated_at"]
    inlines = [BillStageInline]

    @admin.display(description="Enacted as")
    def enacted_as(self, bill: Bill) -> str:
        act = getattr(bill, "act", None)
        return str(act) if act else "-"

    def get_queryset(self, request: HttpRequest) -> models.QuerySet[Bill]:
        return super().get_queryset(request).select_related("act")


class ProvisionInline(admin.TabularInline):
    model = Provision
    fields = ("reference", "title", "extent", "slug")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Act)
class ActAdmin(LegislationAdmin):
    resource_classes = [ActResource]
    list_display = ["title", "citation", "royal_assent_on", "bill"]
    search_fields = ["title", "slug", "citation"]
    autocomplete_fields = ["bill"]
    ordering = ["-royal_assent_on"]
    prepopulated_fields = {"slug": ("title",)}
    readonly_fields = ["updated_at"]
    inlines = [ProvisionInline]


@admin.register(Provision)
class ProvisionAdmin(LegislationAdmin):
    resource_classes = [ProvisionResource]
    list_display = ["reference", "title", "act", "extent_shown", "carries"]
    list_filter = ["act"]
    search_fields = ["reference", "title", "slug"]
    autocomplete_fields = ["act", "source"]
    ordering = ["act__title", "id"]
    readonly_fields = ["updated_at"]
    fieldsets = [
        (None, {"fields": ["slug", "act", "reference", "title", "uri", "extent", "note"]}),
        ("Evidence", {"fields": ["source", "quote", "locator"]}),
        ("Record", {"fields": ["updated_at"], "classes": ["collapse"]}),
    ]

    def get_queryset(self, request: HttpRequest) -> models.QuerySet[Provision]:
        return super().get_queryset(request).for_api()

    @admin.display(description="Extent")
    def extent_shown(self, provision: Provision) -> str:
        return provision.extent_label

    @admin.display(description="Carries")
    def carries(self, provision: Provision) -> str:
        return ", ".join(measure.title for measure in provision.measures.all()) or "-"


@admin.register(Commencement)
class CommencementAdmin(LegislationAdmin):
    resource_classes = [CommencementResource]
    list_display = ["instrument", "in_force_on", "ends_on", "extent_shown", "area", "act"]
    list_filter = ["act", "in_force_on"]
    search_fields = ["instrument", "instrument_title", "area", "slug"]
    autocomplete_fields = ["act", "source", "provisions"]
    ordering = ["in_force_on"]
    date_hierarchy = "in_force_on"
    readonly_fields = ["updated_at"]
    fieldsets = [
        (None, {"fields": ["slug", "act", "instrument", "instrument_title", "instrument_uri"]}),
        (
            "What, where and when",
            {"fields": ["provisions", "made_on", "in_force_on", "ends_on", "extent", "area"]},
        ),
        ("Evidence", {"fields": ["source", "quote", "locator", "note"]}),
        ("Record", {"fields": ["updated_at"], "classes": ["collapse"]}),
    ]

    @admin.display(description="Extent")
    def extent_shown(self, commencement: Commencement) -> str:
        return commencement.extent_label

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        services.commencement_set_provisions(form.instance, form.cleaned_data["provisions"])
        for formset in formsets:
            self.save_formset(request, form, formset, change)
