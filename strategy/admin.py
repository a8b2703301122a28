"""Admin for organisations and sources. The strategy admin lives in measures/admin.py
because its page shows the strategy's measures and money, and this app never imports the
measures app."""

from __future__ import annotations

from django.contrib import admin
from django.utils.html import format_html
from import_export.admin import ImportExportModelAdmin

from strategy.models import Organisation, Source
from strategy.resources import SourceResource


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "kind", "updated_at"]
    list_filter = ["kind"]
    search_fields = ["name", "slug"]
    ordering = ["name"]
    prepopulated_fields = {"slug": ("name",)}
    readonly_fields = ["created_at", "updated_at"]

    def get_readonly_fields(self, request, obj=None):
        # A slug is part of public URLs: fixed once the organisation exists.
        return [*self.readonly_fields, "slug"] if obj else self.readonly_fields

    def get_prepopulated_fields(self, request, obj=None):
        return {} if obj else self.prepopulated_fields


@admin.register(Source)
class SourceAdmin(ImportExportModelAdmin):
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
