"""Query filters for measures, their events and funding lines."""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import QuerySet
from rest_framework.request import Request

from config.api.filters import (
    ISODateFilter,
    ISODateTimeFilter,
    StrictBooleanFilter,
    StrictNumberFilter,
    TrackerOrderingFilter,
    document_filter,
)
from config.api.problems import QueryParameterError
from measures import choices, search
from measures.models import FundingLine, Measure, StatusEvent


class SearchFilter(django_filters.CharFilter):
    """Text for ``search_measures``; longer than it reads is refused, not cut."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, max_length=search.MAX_LENGTH, **kwargs)
        document_filter(self, {"type": "string", "maxLength": search.MAX_LENGTH})


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
    q = SearchFilter(
        method="filter_search",
        help_text=(
            "Search of title, summary, legal vehicle and category in web-search syntax: "
            "words (all must match), “a phrase”, OR, -word to exclude. A word also finds "
            "its other forms (knife finds knives, possess finds possessing) and itself "
            "with a small typo (zombei, corrosve); the last word also finds the words it "
            "begins (kni finds knife). With `ordering=relevance`, the best matches first."
        ),
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
        return search.search_measures(queryset, value)


RELEVANCE = "relevance"
# Relevance is the search's rank, the highest first.
BY_RANK = {RELEVANCE: f"-{search.RANK}", f"-{RELEVANCE}": search.RANK}


class MeasureOrderingFilter(TrackerOrderingFilter):
    """``?ordering=`` of measures, which also takes ``relevance``: the best matches of the
    search first (``-relevance``: the weakest first). Without a search (``q``) there is
    nothing to rank by, and it is refused."""

    def get_ordering(self, request: Request, queryset: Any, view: Any) -> Any:
        ordering = super().get_ordering(request, queryset, view)
        if not any(term.removeprefix("-") == RELEVANCE for term in ordering):
            return ordering
        if search.RANK not in queryset.query.annotations:
            raise QueryParameterError(
                {self.ordering_param: ["Order by relevance only with a search: give q too."]}
            )
        # Ties on rank are broken by the columns after it, ending with a unique one (see
        # ``total_ordering``), so cursor pages neither repeat nor skip a measure.
        return tuple(BY_RANK.get(term, term) for term in ordering)

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            parameter["description"] += (
                " `relevance`: the best matches of the search (`q`) first; only with `q`."
            )
        return parameters


class StatusEventFilterSet(django_filters.FilterSet):
    axis = django_filters.MultipleChoiceFilter(
        choices=choices.Axis.choices, help_text="Only events on these axes."
    )
    current = StrictBooleanFilter(
        method="filter_current",
        help_text=(
            "true: only the events that stand (not corrected or retracted since, and not "
            "retractions); false: only the others."
        ),
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

    def filter_current(
        self, queryset: QuerySet[StatusEvent], name: str, value: bool | None
    ) -> QuerySet[StatusEvent]:
        if value is None:
            return queryset
        standing = queryset.standing()  # type: ignore[attr-defined]
        return standing if value else queryset.exclude(pk__in=standing.values("pk"))


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
