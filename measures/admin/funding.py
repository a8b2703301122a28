"""Funding lines: one money figure each, with its evidence."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from measures.charts import format_money
from measures.models import FundingLine
from measures.resources import FundingLineResource
from measures.services import funding_line_create, funding_line_update
from strategy.admin import ServiceAdminMixin, SpreadsheetAdmin


@admin.register(FundingLine)
class FundingLineAdmin(ServiceAdminMixin, SpreadsheetAdmin):
    resource_classes = [FundingLineResource]
    list_display = [
        "title",
        "amount_shown",
        "phase",
        "period_label",
        "measure",
        "strategy",
        "novelty",
        "funder",
        "recipient",
    ]
    list_filter = ["phase", "novelty", "strategy", "currency"]
    search_fields = ["title", "notes", "measure__title", "quote"]
    autocomplete_fields = ["strategy", "measure", "parent", "funder", "recipient", "source"]
    ordering = ["strategy__title", "period_start", "title"]
    readonly_fields = ["recorded_by", "created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["strategy", "measure", "parent", "title"]}),
        ("Money", {"fields": ["amount", "currency", "phase", "novelty"]}),
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
        return format_money(line.amount, line.currency, exact=True)

    def create_with(self, request: HttpRequest, fields: Mapping[str, Any]) -> FundingLine:
        return funding_line_create(fields=fields, recorded_by=request.user)

    def update_with(
        self, request: HttpRequest, obj: Any, fields: Mapping[str, Any], form: Any
    ) -> FundingLine:
        return funding_line_update(line=obj, fields=fields)
