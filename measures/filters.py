"""Query filters for measures, their events and funding lines."""

from __future__ import annotations

from typing import Any

import django_filters
from django.contrib.postgres.search import SearchQuery, SearchRank
from django.db.models import F, QuerySet

from config.api.filters import (
    ISODateFilter,
    ISODateTimeFilter,
    StrictBooleanFilter,
    StrictNumberFilter,
)
from measures import choices
from measures.models import FundingLine, Measure, StatusEvent


class MeasureFilterSet(django_filters.FilterSet):
    """Filters on the current status, or on the status ``as_of`` / ``known_at`` when those
    parameters are given (the view annotates the history's answer as ``stage_then`` ...)."""

    strategy = django_filters.CharFilter(
        field_name="strategy__slug",
        help_text="Slug of the strategy, e.g. “serious-violence-strategy-2018”.",
    )
    # The three status axes filter alike, each on its own values.
    stage = django_filters.MultipleChoiceFilter(
        choices=choices.Stage.choices,
        method="filter_status",
        help_text="Only measures at one of these stages (repeat the parameter for several).",
    )
    verdict = django_filters.MultipleChoiceFilter(
        choices=choices.Verdict.choices,
        method="filter_status",
        help_text="Only measures with one of these verdicts.",
    )
    confidence = django_filters.MultipleChoiceFilter(
        choices=choices.Confidence.choices,
        method="filter_status",
        help_text="Only measures with one of these delivery-confidence ratings.",
    )
    category = django_filters.CharFilter(
        lookup_expr="iexact",
        help_text="The strategy theme, e.g. “Law enforcement and criminal justice”.",
    )
    instrument = django_filters.MultipleChoiceFilter(
        choices=choices.Instrument.choices,
        help_text="Only measures delivered by one of these instruments.",
    )
    lead_organisation = django_filters.CharFilter(
        field_name="lead_organisation__slug",
        help_text="Slug of the lead organisation, e.g. “home-office”.",
    )
    target_after = ISODateFilter(
        field_name="target_on", lookup_expr="gte", help_text="Target date on or after this date."
    )
    target_before = ISODateFilter(
        field_name="target_on", lookup_expr="lte", help_text="Target date on or before this date."
    )
    overdue = StrictBooleanFilter(
        method="filter_overdue",
        help_text="true: past the target date and not finished; false: the rest.",
    )
    updated_since = ISODateTimeFilter(
        field_name="updated_at",
        lookup_expr="gt",
        help_text="Changed after this instant (ISO 8601), e.g. 2026-01-01T00:00:00Z.",
    )
    q = django_filters.CharFilter(
        method="filter_search",
        help_text="Full-text search of title, summary, category and legal vehicle (web-search syntax: quotes, OR, -word).",
    )

    class Meta:
        model = Measure
        fields: list[str] = []

    def filter_status(
        self, queryset: QuerySet[Measure], name: str, value: list[str]
    ) -> QuerySet[Measure]:
        if not value:
            return queryset
        column = (
            f"{name}_then"
            if self.request is not None and getattr(self.request, "time_travel", False)
            else name
        )
        return queryset.filter(**{f"{column}__in": value})

    def filter_overdue(
        self, queryset: QuerySet[Measure], name: str, value: bool
    ) -> QuerySet[Measure]:
        # Computed in SQL only when asked for: a page shows is_overdue without it.
        if value is None:
            return queryset
        travelling = self.request is not None and getattr(self.request, "time_travel", False)
        on = getattr(self.request, "as_of", None) if travelling else None
        annotated: Any = queryset
        return annotated.with_overdue(on, "stage_then" if travelling else "stage").filter(
            is_overdue=value
        )

    def filter_search(
        self, queryset: QuerySet[Measure], name: str, value: str
    ) -> QuerySet[Measure]:
        query = SearchQuery(value, search_type="websearch", config="english")
        return queryset.filter(search_vector=query).annotate(
            rank=SearchRank(F("search_vector"), query)
        )


class StatusEventFilterSet(django_filters.FilterSet):
    axis = django_filters.MultipleChoiceFilter(
        choices=choices.Axis.choices, help_text="Only events on these axes."
    )
    current = StrictBooleanFilter(
        field_name="superseded_by",
        lookup_expr="isnull",
        help_text="true: only events not corrected since; false: only corrected ones.",
    )
    effective_after = ISODateFilter(
        field_name="effective_on", lookup_expr="gte", help_text="Became true on or after this date."
    )
    effective_before = ISODateFilter(
        field_name="effective_on",
        lookup_expr="lte",
        help_text="Became true on or before this date.",
    )

    class Meta:
        model = StatusEvent
        fields: list[str] = []


class FundingLineFilterSet(django_filters.FilterSet):
    strategy = django_filters.CharFilter(
        field_name="strategy__slug", help_text="Slug of the strategy."
    )
    measure = django_filters.CharFilter(
        field_name="measure__slug", help_text="Slug of the measure."
    )
    strategy_wide = StrictBooleanFilter(
        field_name="measure",
        lookup_expr="isnull",
        help_text="true: only lines not attached to a measure.",
    )
    phase = django_filters.MultipleChoiceFilter(
        choices=choices.FundingPhase.choices, help_text="Only lines in these phases."
    )
    novelty = django_filters.MultipleChoiceFilter(
        choices=choices.FundingNovelty.choices, help_text="Only new or only re-announced money."
    )
    funder = django_filters.CharFilter(field_name="funder__slug", help_text="Slug of the funder.")
    recipient = django_filters.CharFilter(
        field_name="recipient__slug", help_text="Slug of the recipient."
    )
    currency = django_filters.CharFilter(help_text="ISO 4217 code, e.g. GBP.")
    min_amount = StrictNumberFilter(
        field_name="amount", lookup_expr="gte", help_text="At least this amount."
    )
    max_amount = StrictNumberFilter(
        field_name="amount", lookup_expr="lte", help_text="At most this amount."
    )

    class Meta:
        model = FundingLine
        fields: list[str] = []
