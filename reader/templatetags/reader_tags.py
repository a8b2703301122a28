"""Filters for the site's templates: the labels of status values, and sums of money."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import template

from measures.charts import format_money
from measures.choices import AXIS_VALUES, FundingPhase

register = template.Library()


@register.filter
def status_label(value: str | None, axis: str) -> str:
    """“In force (commenced)” for ``in_force`` on the stage axis; “none recorded” for none."""
    if not value:
        return "none recorded"
    choices = AXIS_VALUES.get(axis)
    return str(choices(value).label) if choices and value in choices.values else value


@register.filter
def money(amount: Decimal | None, currency: str = "GBP") -> str:
    """“£40.00m”, “£700,000”."""
    return format_money(amount, currency or "GBP")


@register.filter
def exact_money(amount: Decimal | None, currency: str = "GBP") -> str:
    """“£40,000,000.00”."""
    return format_money(amount, currency or "GBP", exact=True)


@register.filter
def phase_label(value: str) -> str:
    """“Announced” for ``announced``."""
    return str(FundingPhase(value).label) if value in FundingPhase.values else value


@register.filter
def get_item(mapping: dict[str, Any], key: str) -> Any:
    return mapping.get(key)
