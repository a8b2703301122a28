"""Funding lines: one money figure each, with its evidence."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.formats import date_format
from django.utils.html import format_html

from measures.admin.measures import WholeFileImportMixin
from measures.charts import format_money
from measures.models import FundingLine
from measures.resources import FundingLineResource
from measures.services import funding_line_create, funding_line_update
from strategy.admin import ServiceAdminMixin, SpreadsheetAdmin


@admin.register(FundingLine)
class FundingLineAdmin(ServiceAdminMixin, WholeFileImportMixin, SpreadsheetAdmin):
    resource_classes = [FundingLineResource]
    # Short headers, funder and recipient in one column and no strategy column (it is a
    # filter), so that the list fits a 1366 px screen beside the navigation and the filters.
    list_display = [
        "title",
        "amount_shown",
        "phase",
        "announced",
        "measure",
        "novelty_shown",
        "who",
    ]
    list_filter = ["phase", "novelty", "is_ceiling", "strategy", "currency"]
    search_fields = ["title", "notes", "measure__title", "quote"]
    autocomplete_fields = [
        "strategy",
        "measure",
        "parent",
        "realises",
        "funder",
        "recipient",
        "source",
    ]
    ordering = ["strategy__title", "period_start", "title"]
    readonly_fields = ["recorded_by", "created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["strategy", "measure", "title"]}),
        (
            "Money",
            {"fields": ["amount", "currency", "is_ceiling", "phase", "novelty"]},
        ),
        (
            "Trail",
            {
                "fields": ["announced_on", "announced_on_precision", "parent", "realises"],
                "description": (
                    "When the figure was announced or decided; the envelope it is drawn "
                    "from; the earlier line it is the same money as (at a later phase, or "
                    "restated), so that the totals count it once."
                ),
            },
        ),
        ("Period", {"fields": ["period_start", "period_end", "period_label"]}),
        ("Who", {"fields": ["funder", "recipient"]}),
        ("Evidence", {"fields": ["source", "quote", "locator", "notes"]}),
        (
            "Record",
            {"fields": ["recorded_by", "created_at", "updated_at"], "classes": ["collapse"]},
        ),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[FundingLine]:
        return super().get_queryset(request).for_api()

    @admin.display(description="Amount", ordering="amount")
    def amount_shown(self, line: FundingLine) -> str:
        shown = format_money(line.amount, line.currency, exact=True)
        return f"up to {shown}" if line.is_ceiling else shown

    @admin.display(description="Announced", ordering="announced_on")
    def announced(self, line: FundingLine) -> str:
        # The date on one line, the period it covers below it in words.
        day = date_format(line.announced_on, "j M Y") if line.announced_on else "-"
        if not line.period_label:
            return format_html('<span class="nowrap">{}</span>', day)
        return format_html(
            '<span class="nowrap">{}</span><br><span class="help">{}</span>', day, line.period_label
        )

    @admin.display(description="New?", ordering="novelty")
    def novelty_shown(self, line: FundingLine) -> str:
        return line.get_novelty_display()

    @admin.display(description="From → to")
    def who(self, line: FundingLine) -> str:
        return f"{line.funder or '-'} → {line.recipient or '-'}"

    def create_with(self, request: HttpRequest, fields: Mapping[str, Any]) -> FundingLine:
        return funding_line_create(fields=fields, recorded_by=request.user)

    def update_with(
        self, request: HttpRequest, obj: Any, fields: Mapping[str, Any], form: Any
    ) -> FundingLine:
        return funding_line_update(line=obj, fields=fields)
