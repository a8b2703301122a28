"""Every status event of every measure, read-only: events are recorded and corrected from
the measure's page, or imported from a spreadsheet, and never edited."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html

from measures.admin.measures import WholeFileImportMixin
from measures.models import EventCitation, StatusEvent
from measures.resources import StatusEventResource
from strategy.admin import SpreadsheetAdmin


class EventCitationInline(admin.TabularInline):
    model = EventCitation
    fields = ("source", "quote", "locator")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


# Every stored field of an event, all read-only: events are never edited.
EVENT_FIELDS: tuple[str, ...] = tuple(
    field.name
    for field in StatusEvent._meta.concrete_fields
    if field.name not in ("id", "change_xid")
)


@admin.register(StatusEvent)
class StatusEventAdmin(WholeFileImportMixin, SpreadsheetAdmin):
    """The events, and their import from a spreadsheet (one event and its citation a row);
    there is no export of them (an event's citations do not fit one row)."""

    resource_classes = [StatusEventResource]
    list_display = [
        "effective",
        "measure",
        "axis",
        "value_label",
        "recorded",
        "stands",
    ]
    list_filter = ["axis", "value", "effective_on", "recorded_at"]
    search_fields = ["measure__title", "measure__slug", "rationale"]
    date_hierarchy = "effective_on"
    ordering = ["-recorded_at"]
    inlines = [EventCitationInline]
    fields = EVENT_FIELDS
    readonly_fields = EVENT_FIELDS

    def get_queryset(self, request: HttpRequest) -> QuerySet[StatusEvent]:
        return super().get_queryset(request).for_api()

    @admin.display(description="Effective", ordering="effective_on")
    def effective(self, event: StatusEvent) -> str:
        return event.effective_on_label

    @admin.display(description="Recorded", ordering="recorded_at")
    def recorded(self, event: StatusEvent) -> str:
        when = date_format(timezone.localtime(event.recorded_at), "j M Y H:i")
        who = event.recorded_by.get_username() if event.recorded_by else "seed data"
        return format_html("{}<br>{}", when, who)

    @admin.display(description="Value")
    def value_label(self, event: StatusEvent) -> str:
        return event.value_label

    @admin.display(description="Stands", boolean=True)
    def stands(self, event: StatusEvent) -> bool:
        """Neither corrected nor retracted, nor a retraction."""
        return event.stands

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_export_permission(self, request: HttpRequest) -> bool:
        return False
